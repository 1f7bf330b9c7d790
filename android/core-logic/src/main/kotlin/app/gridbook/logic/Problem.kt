// What went wrong, for the screens: the binding's GridbookException turned into a value the UI
// state can hold, with the field to point at. The app picks its zh-CN/English text from `kind`.
package app.gridbook.logic

import app.gridbook.ffi.GridbookException
import app.gridbook.ffi.core.WipeReport

/** The kinds of problem a screen distinguishes. */
enum class ProblemKind {
    INVALID, NOT_FOUND, OFFLINE, NEEDS_ENROLMENT, REFUSED, INTERRUPTED, KEY_UNAVAILABLE,
    /** The store is locked, or signing needs a fresh unlock: show the lock screen. */
    LOCKED,
    /** Past the server's days offline: sync before recording anything new. */
    OFFLINE_TOO_LONG,
    /** The store cannot be opened: another key, a damaged file, not a store (nothing was deleted). */
    STORE_UNREADABLE,
    /** The app is below the server's minimum version: offer the update (what it held was uploaded). */
    UPGRADE_REQUIRED,
    /** The back office had the phone wiped: its store is gone; return to enrolment ([Problem.wipe] says what was lost). */
    WIPED,
    UNEXPECTED,
}

/** A problem to show: [field] is set for invalid input, [detail] is for the detail line and logs. */
data class Problem(
    val kind: ProblemKind,
    val detail: String,
    val field: String? = null,
    val code: String? = null,
    /** With [ProblemKind.WIPED]: the phone's report of its wipe (null when it could not be counted). */
    val wipe: WipeReport? = null,
) {
    /** A zh-CN-first text with English beside it, for places without app resources (logs, tests, iOS parity). */
    fun text(): String = when (kind) {
        ProblemKind.INVALID -> "请检查 ${field ?: ""} Please check ${field ?: ""}: $detail"
        ProblemKind.NOT_FOUND -> "记录不存在 Not found: $detail"
        ProblemKind.OFFLINE -> "无网络，稍后自动重试 Offline, will retry: $detail"
        ProblemKind.NEEDS_ENROLMENT -> "设备需要重新登记 Enrol this device again: $detail"
        ProblemKind.REFUSED -> "服务器拒绝 Refused by the server (${code ?: ""}): $detail"
        ProblemKind.INTERRUPTED -> "同步中断，下次继续 Sync interrupted, resumes next time: $detail"
        ProblemKind.KEY_UNAVAILABLE -> "设备密钥不可用，请解锁手机后重试 Device key unavailable, unlock the phone and try again: $detail"
        ProblemKind.UPGRADE_REQUIRED -> "应用版本过低，请升级到 $detail 或更高版本，数据已上传 Update the app to $detail or later; what it held was uploaded"
        ProblemKind.LOCKED -> "已锁定，请解锁后继续 Locked: unlock to go on: $detail"
        ProblemKind.OFFLINE_TOO_LONG -> "离线时间过长，请先同步再记录 Offline too long: sync, then record: $detail"
        ProblemKind.STORE_UNREADABLE -> "本机数据库无法打开，未删除任何数据 The store cannot be opened, nothing was deleted: $detail"
        ProblemKind.WIPED -> "本机数据已按后台指令清除，请重新登记 This phone was wiped by the back office: enrol again. $detail"
        ProblemKind.UNEXPECTED -> "出错了 Something went wrong: $detail"
    }

    companion object {
        fun of(e: Throwable): Problem = when (e) {
            is ProblemException -> e.problem
            is GridbookException.Invalid -> Problem(ProblemKind.INVALID, e.rule, field = e.field)
            is GridbookException.NotFound -> Problem(ProblemKind.NOT_FOUND, "${e.kind} ${e.id}")
            is GridbookException.Network -> Problem(ProblemKind.OFFLINE, e.detail)
            is GridbookException.Unauthorized -> Problem(ProblemKind.NEEDS_ENROLMENT, e.detail)
            is GridbookException.Rejected -> Problem(ProblemKind.REFUSED, e.detail, code = e.code)
            is GridbookException.Interrupted -> Problem(ProblemKind.INTERRUPTED, e.detail)
            is GridbookException.KeyUnavailable -> Problem(ProblemKind.KEY_UNAVAILABLE, e.detail)
            is GridbookException.UpgradeRequired -> Problem(ProblemKind.UPGRADE_REQUIRED, e.minVersion)
            is GridbookException.Locked -> Problem(ProblemKind.LOCKED, e.detail)
            is GridbookException.OfflineTooLong -> Problem(ProblemKind.OFFLINE_TOO_LONG, e.detail)
            is GridbookException.WrongKey -> Problem(ProblemKind.STORE_UNREADABLE, e.detail)
            is GridbookException.StoreCorrupted -> Problem(ProblemKind.STORE_UNREADABLE, e.detail)
            is GridbookException.NotAStore -> Problem(ProblemKind.STORE_UNREADABLE, e.detail)
            is GridbookException.Wiped -> Problem(ProblemKind.WIPED, wipeSummary(e.report, e.reported), wipe = e.report)
            is GridbookException.Other -> Problem(ProblemKind.UNEXPECTED, e.detail)
            else -> Problem(ProblemKind.UNEXPECTED, e.message ?: e.javaClass.simpleName)
        }

        /** A rule the form checks before calling the core (e.g. an amount that does not parse). */
        fun invalid(field: String, rule: String) = Problem(ProblemKind.INVALID, rule, field = field)
    }
}

/**
 * What a wipe report says, zh-CN first with English beside it: what was uploaded at the end, and
 * what was lost (changes, receipts and their total), for the enrolment screen's banner.
 */
fun wipeSummary(report: WipeReport?, reported: Boolean): String {
    val sent = if (reported) "已报告后台 reported to the back office" else "未能报告后台 not reported to the back office"
    if (report == null) return "无法统计 could not be counted; $sent"
    val lostReceipts = report.receiptsLost.toLong()
    val lost = if (report.opsLost == 0uL && lostReceipts == 0L) {
        "无丢失 nothing lost"
    } else {
        "丢失 ${report.opsLost} 条、收据 $lostReceipts 张 ${Money.yuan(report.receiptsLostFen)} " +
            "lost ${report.opsLost} changes, $lostReceipts receipts ${Money.yuan(report.receiptsLostFen)}"
    }
    return "上传 ${report.opsUploaded} 条、收据 ${report.receiptsUploaded} 张 ${Money.yuan(report.receiptsUploadedFen)} " +
        "uploaded ${report.opsUploaded} changes, ${report.receiptsUploaded} receipts ${Money.yuan(report.receiptsUploadedFen)}; " +
        "被驳回 ${report.opsRejected} 条 refused ${report.opsRejected}; $lost; $sent"
}

/** Runs [block], turning a binding error into a [Problem]. Cancellation passes through. */
inline fun <T> attempt(block: () -> T): Result<T> = try {
    Result.success(block())
} catch (e: kotlinx.coroutines.CancellationException) {
    throw e
} catch (e: GridbookException) {
    Result.failure(ProblemException(Problem.of(e)))
}

/** Carries a [Problem] through `Result`. */
class ProblemException(val problem: Problem) : Exception(problem.text())

/** The problem of a failed result. */
val Result<*>.problem: Problem?
    get() = exceptionOrNull()?.let { (it as? ProblemException)?.problem ?: Problem.of(it) }
