// The app's words come from Localizable.strings (zh-Hans, the development language, and en):
// `L("key")` or `L("key", args…)` with printf-style arguments. scripts/check-app-strings.py
// checks that every key used here exists in both languages with the same arguments.
import Foundation

func L(_ key: String, _ args: CVarArg...) -> String {
    let format = NSLocalizedString(key, comment: "")
    return args.isEmpty ? format : String(format: format, locale: Locale.current, arguments: args)
}
