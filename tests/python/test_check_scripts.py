# The CI checks that stand in for the compilers CI does not have: scripts/check-binding-names.py
# (the apps call only what the generated bindings export, with Swift's argument labels) and
# scripts/check-app-strings.py (zh-CN and English from resources, the same keys in both). Each is
# run on a small project in a temporary folder: the right names pass, and each kind of wrong name
# is caught and named.
import importlib.util
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load(name):
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"), ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


names = load("check-binding-names")
strings = load("check-app-strings")

# Bindings as uniffi 0.29 writes them (the shapes that matter: records, enums, sealed classes,
# objects with their interface or protocol, top-level functions; Kotlin indents its functions,
# Swift puts an object's members at column 0).
KOTLIN_BINDINGS = """package app.gridbook.ffi

/**
 * A receipt.
 */
data class Receipt (
    /**
     * Empty when recording.
     */
    var `id`: kotlin.String = "",
    var `receiptNo`: kotlin.String,
    var `paymentRef`: kotlin.String = ""
) {
    companion object
}

enum class PaymentMethod {

    CASH,
    WECHAT;
    companion object
}

sealed class PlanItem {
    data class ArrearsItem(
        val `line`: kotlin.String) : PlanItem() {
        companion object
    }
}

public interface GridbookStoreInterface {
    fun `receipt`(`receiptId`: kotlin.String): Receipt
    companion object
}

open class GridbookStore: Disposable, AutoCloseable, GridbookStoreInterface
{
    @Throws(GridbookException::class)override fun `receipt`(`receiptId`: kotlin.String): Receipt {
        return FfiConverterTypeReceipt.lift(callWithPointer { it })
    }
    companion object {
        @Throws(GridbookException::class) fun `open`(`path`: kotlin.String): GridbookStore {
            return GridbookStore(path)
        }
    }
}

internal interface UniffiLib : Library {
    fun ffi_gridbook_ffi_rustbuffer_alloc(`size`: Long): RustBuffer.ByValue
}

    /**
     * 100050 -> 1,000.50
     */ fun `formatYuan`(`fen`: kotlin.Long): kotlin.String {
    return FfiConverterString.lift(fen)
    }
"""

SWIFT_BINDINGS = """import Foundation

public struct Receipt {
    /**
     * Empty when recording.
     */
    public var id: String
    public var receiptNo: String
    public var paymentRef: String

    public init(
        /**
         * Empty when recording.
         */id: String = "",
        receiptNo: String,
        paymentRef: String = "") {
        self.id = id
        self.receiptNo = receiptNo
        self.paymentRef = paymentRef
    }
}

public enum PaymentMethod {

    case cash
    case wechat
}

public protocol GridbookStoreProtocol: AnyObject, Sendable {
    func receipt(receiptId: String) throws  -> Receipt
}
open class GridbookStore: GridbookStoreProtocol, @unchecked Sendable {
    fileprivate let pointer: UnsafeMutableRawPointer!
    required public init(unsafeFromRawPointer pointer: UnsafeMutableRawPointer) {
        self.pointer = pointer
    }
public static func open(path: String)throws  -> GridbookStore  {
    return try FfiConverterTypeGridbookStore_lift(path)
}
open func receipt(receiptId: String)throws  -> Receipt  {
    return try FfiConverterTypeReceipt_lift(receiptId)
}
}
public func formatYuan(fen: Int64) -> String  {
    return try! FfiConverterString.lift(fen)
}
"""

KOTLIN_APP = """package app.gridbook.logic

import app.gridbook.ffi.GridbookStore
import app.gridbook.ffi.PaymentMethod
import app.gridbook.ffi.PlanItem
import app.gridbook.ffi.Receipt
import app.gridbook.ffi.formatYuan

class Repo(private val store: GridbookStore) {
    fun one(id: String) = store.receipt(id)
    fun method() = PaymentMethod.WECHAT
    fun all() = PaymentMethod.entries
    fun made() = Receipt(receiptNo = "SJ-1", paymentRef = "4200001234")
    fun owed() = PlanItem.ArrearsItem(line = "a")
    fun yuan() = formatYuan(100L)
    fun text(item: PlanItem) = item.label()
}

fun PlanItem.label(): String = "x"
"""

SWIFT_APP = """import GridbookFFI

final class Kit {
    let store: GridbookStore
    init(store: GridbookStore) { self.store = store }
    func one(_ id: String) throws -> Receipt { try store.receipt(receiptId: id) }
    func made() -> Receipt { Receipt(receiptNo: "SJ-1", paymentRef: "4200001234") }
    func yuan() -> String { formatYuan(fen: 100) }
    var method: PaymentMethod { PaymentMethod.wechat }
    static func opened() throws -> GridbookStore { try GridbookStore.open(path: "/tmp/x.db") }
}
"""


def project(tmp_path, kotlin_app=KOTLIN_APP, swift_app=SWIFT_APP):
    b = tmp_path / "bindings"
    (b / "kotlin/app/gridbook/ffi").mkdir(parents=True)
    (b / "kotlin/app/gridbook/ffi/gridbook_ffi.kt").write_text(KOTLIN_BINDINGS, encoding="utf-8")
    (b / "swift").mkdir(parents=True)
    (b / "swift/GridbookFFI.swift").write_text(SWIFT_BINDINGS, encoding="utf-8")
    kt = tmp_path / "android/core-logic/src/main/kotlin/app/gridbook/logic"
    kt.mkdir(parents=True)
    (kt / "Repo.kt").write_text(kotlin_app, encoding="utf-8")
    sw = tmp_path / "ios/Sources/GridbookKit"
    sw.mkdir(parents=True)
    (sw / "Kit.swift").write_text(swift_app, encoding="utf-8")
    return tmp_path


def run_names(root, capsys):
    rc = names.main(["--root", str(root)])
    return rc, capsys.readouterr().out


def test_the_right_names_pass(tmp_path, capsys):
    rc, out = run_names(project(tmp_path), capsys)
    assert rc == 0, out
    assert "suite: 8 passed, 0 failed" in out
    # every check saw something to check
    assert "no uses found" not in out


@pytest.mark.parametrize(
    ("wrong", "right", "check", "says"),
    [
        ("import app.gridbook.ffi.Receipt\n", "import app.gridbook.ffi.Reciept\n", "android imports", "Reciept is not in the bindings"),
        ("store.receipt(id)", "store.receipts(id)", "android members", "has no member `receipts`"),
        ("PaymentMethod.WECHAT", "PaymentMethod.WEIXIN", "android qualified", "PaymentMethod.WEIXIN"),
        ('paymentRef = "4200001234"', 'reference = "4200001234"', "android records", "has no field `reference`"),
        ('Receipt(receiptNo = "SJ-1", ', "Receipt(", "android records", "leaves out receiptNo"),
        ("ArrearsItem(line = ", "ArrearsItem(account = ", "android records", "PlanItem.ArrearsItem has no field `account`"),
    ],
)
def test_a_wrong_kotlin_name_is_caught(tmp_path, capsys, wrong, right, check, says):
    assert wrong in KOTLIN_APP
    rc, out = run_names(project(tmp_path, kotlin_app=KOTLIN_APP.replace(wrong, right, 1)), capsys)
    assert rc == 1
    assert f"FAIL {check}" in out, out
    assert says in out, out
    assert "Repo.kt:" in out


@pytest.mark.parametrize(
    ("wrong", "right", "check", "says"),
    [
        ("store.receipt(receiptId: id)", "store.receipt(id: id)", "ios calls", "receipt(id:) is not receipt(receiptId)"),
        ("store.receipt(receiptId: id)", "store.receipts(receiptId: id)", "ios members", "has no member `receipts`"),
        ('Receipt(receiptNo: "SJ-1", paymentRef: "4200001234")', 'Receipt(paymentRef: "4200001234", receiptNo: "SJ-1")', "ios records", "does not fit"),
        ('Receipt(receiptNo: "SJ-1", paymentRef: "4200001234")', 'Receipt(paymentRef: "4200001234")', "ios records", "does not fit"),
        ("formatYuan(fen: 100)", "formatYuan(amount: 100)", "ios calls", "formatYuan(amount:) is not formatYuan(fen)"),
        ("PaymentMethod.wechat", "PaymentMethod.weixin", "ios qualified", "PaymentMethod.weixin"),
        ('GridbookStore.open(path: "/tmp/x.db")', 'GridbookStore.open(file: "/tmp/x.db")', "ios calls", "open(file:)"),
    ],
)
def test_a_wrong_swift_name_or_label_is_caught(tmp_path, capsys, wrong, right, check, says):
    assert wrong in SWIFT_APP
    rc, out = run_names(project(tmp_path, swift_app=SWIFT_APP.replace(wrong, right, 1)), capsys)
    assert rc == 1
    assert f"FAIL {check}" in out, out
    assert says in out, out
    assert "Kit.swift:" in out


def test_names_in_comments_and_text_are_not_calls(tmp_path, capsys):
    app = SWIFT_APP.replace(
        "    var method: PaymentMethod",
        '    // store.receipts(id: 1) is an old name\n    let note = "formatYuan(amount: 1)"\n    var method: PaymentMethod',
    )
    rc, out = run_names(project(tmp_path, swift_app=app), capsys)
    assert rc == 0, out


def test_a_value_of_unknown_type_is_not_guessed(tmp_path, capsys):
    # `current` is a Receipt property somewhere, but LocalContext.current is not that property
    app = KOTLIN_APP + """
class Screen(val current: Receipt?) {
    fun title(): String {
        val context = LocalContext.current
        return context.getString(1)
    }
}
"""
    rc, out = run_names(project(tmp_path, kotlin_app=app), capsys)
    assert rc == 0, out


def test_no_bindings_is_a_failure_not_a_pass(tmp_path, capsys):
    rc, out = run_names(tmp_path, capsys)
    assert rc == 1
    assert "suite: 0 passed, 1 failed" in out


# ---- strings ---------------------------------------------------------------------------------

ZH = """<?xml version="1.0" encoding="utf-8"?>
<resources>
    <string name="app_name">网格通</string>
    <string name="receipt_saved">收据 %1$s 已保存</string>
</resources>
"""
EN = """<?xml version="1.0" encoding="utf-8"?>
<resources>
    <string name="app_name">Gridbook</string>
    <string name="receipt_saved">Receipt %1$s saved</string>
</resources>
"""
SCREEN = """package app.gridbook.android.ui
fun saved(no: String) = stringResource(R.string.receipt_saved, no)
const val COMPANY = "中国电信"  // i18n: data
"""
IOS_ZH = '"receipt.saved" = "收据 %@ 已保存";\n/* a comment */\n"tab.today" = "今日";\n'
IOS_EN = '"receipt.saved" = "Receipt %@ saved";\n"tab.today" = "Today";\n'
VIEW = 'import SwiftUI\nlet a = L("receipt.saved", no)\nlet b = L("tab.today")\n'


def strings_project(tmp_path, zh=ZH, en=EN, screen=SCREEN, ios_zh=IOS_ZH, ios_en=IOS_EN, view=VIEW):
    res = tmp_path / "android/app/src/main/res"
    for folder, text in (("values", zh), ("values-en", en)):
        (res / folder).mkdir(parents=True)
        (res / folder / "strings.xml").write_text(text, encoding="utf-8")
    kt = tmp_path / "android/app/src/main/kotlin/app/gridbook/android/ui"
    kt.mkdir(parents=True)
    (kt / "Screen.kt").write_text(screen, encoding="utf-8")
    app = tmp_path / "ios/App/Gridbook"
    for folder, text in (("zh-Hans.lproj", ios_zh), ("en.lproj", ios_en)):
        (app / folder).mkdir(parents=True)
        (app / folder / "Localizable.strings").write_text(text, encoding="utf-8")
    (app / "View.swift").write_text(view, encoding="utf-8")
    return tmp_path


def run_strings(root, capsys):
    rc = strings.main(["--root", str(root)])
    return rc, capsys.readouterr().out


def test_words_from_resources_in_both_languages_pass(tmp_path, capsys):
    rc, out = run_strings(strings_project(tmp_path), capsys)
    assert rc == 0, out
    assert "suite: 6 passed, 0 failed" in out


@pytest.mark.parametrize(
    ("change", "check", "says"),
    [
        ({"en": EN.replace("Receipt %1$s saved", "Receipt saved")}, "android same strings", "receipt_saved: arguments"),
        ({"en": EN.replace('    <string name="app_name">Gridbook</string>\n', "")}, "android same strings", "app_name: in values/, not in values-en/"),
        ({"screen": SCREEN + "val x = R.string.receipt_lost\n"}, "android every R.string exists", "R.string.receipt_lost"),
        ({"screen": SCREEN + 'val y = Text("保存 Save")\n'}, "android no text in the code", "保存 Save"),
        ({"ios_en": IOS_EN.replace('"tab.today" = "Today";\n', "")}, "ios same strings", "tab.today: in zh-Hans, not in en"),
        ({"ios_en": IOS_EN.replace("%@", "")}, "ios same strings", "receipt.saved: arguments"),
        ({"view": VIEW + 'let c = L("tab.tomorrow")\n'}, "ios every L(key) exists", 'L("tab.tomorrow")'),
        ({"view": VIEW + 'let d = Text("今日 Today")\n'}, "ios no text in the code", "今日 Today"),
        ({"ios_zh": IOS_ZH + '"broken = "x";\n'}, "ios same strings", "not a"),
    ],
)
def test_each_kind_of_wrong_word_is_caught(tmp_path, capsys, change, check, says):
    rc, out = run_strings(strings_project(tmp_path, **change), capsys)
    assert rc == 1
    assert f"FAIL {check}" in out, out
    assert says in out, out
