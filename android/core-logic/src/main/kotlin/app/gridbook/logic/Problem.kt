// What went wrong, for the screens: the binding's GridbookException turned into a value the UI
// state can hold, with the field to point at. The app picks its zh-CN/English text from `kind`.
package app.gridbook.logic

import app.gridbook.ffi.GridbookException

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
    UNEXPECTED,
}

/** A problem to show: [field] is set for invalid input, [detail] is for the detail line and logs. */
data class Problem(val kind: ProblemKind, val detail: String, val field: String? = null, val code: String? = null) {
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
            is GridbookException.Other -> Problem(ProblemKind.UNEXPECTED, e.detail)
            else -> Problem(ProblemKind.UNEXPECTED, e.message ?: e.javaClass.simpleName)
        }

        /** A rule the form checks before calling the core (e.g. an amount that does not parse). */
        fun invalid(field: String, rule: String) = Problem(ProblemKind.INVALID, rule, field = field)
    }
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
