// Runs the Kotlin JUnit suite, writes one JUnit XML report per class (for CI) and prints the line
// "suite: N passed, M failed" that scripts/test-all.sh sums. Exit status 1 if anything failed.
package app.gridbook.tests

import org.junit.runner.Description
import org.junit.runner.JUnitCore
import org.junit.runner.Request
import org.junit.runner.notification.Failure
import org.junit.runner.notification.RunListener
import java.io.File
import kotlin.system.exitProcess

private val CLASSES = listOf(
    BindingsTest::class.java, LogicTest::class.java, ScreenDecisionsTest::class.java, VisitEndToEndTest::class.java,
    WorkdayEndToEndTest::class.java, CollectionFlowTest::class.java, AppUpdatesTest::class.java, WipeEndToEndTest::class.java,
    LiveSyncEndToEndTest::class.java,
)

private class Case(val name: String, var seconds: Double = 0.0, var failure: Failure? = null)

private fun esc(s: String) = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;")

fun main(args: Array<String>) {
    val reportDir = File(args.firstOrNull() ?: "target/test-reports/kotlin").apply { mkdirs() }
    var passed = 0
    var failed = 0
    for (cls in CLASSES) {
        val cases = linkedMapOf<String, Case>()
        var started = 0L
        val core = JUnitCore()
        core.addListener(object : RunListener() {
            override fun testStarted(d: Description) {
                started = System.nanoTime()
                cases[d.methodName] = Case(d.methodName)
            }
            override fun testFinished(d: Description) {
                cases[d.methodName]?.seconds = (System.nanoTime() - started) / 1e9
            }
            override fun testFailure(f: Failure) {
                val name = f.description.methodName ?: "<class>"
                cases.getOrPut(name) { Case(name) }.failure = f
            }
        })
        core.run(Request.aClass(cls))
        val failures = cases.values.count { it.failure != null }
        passed += cases.size - failures
        failed += failures
        for (c in cases.values) {
            val mark = if (c.failure == null) "ok  " else "FAIL"
            println("$mark ${cls.simpleName}.${c.name} (%.2f s)".format(c.seconds))
            c.failure?.let { println(it.trace.lines().take(25).joinToString("\n") { l -> "     $l" }) }
        }
        File(reportDir, "TEST-${cls.name}.xml").writeText(buildString {
            append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
            append("<testsuite name=\"${cls.name}\" tests=\"${cases.size}\" failures=\"$failures\" errors=\"0\" skipped=\"0\" ")
            append("time=\"%.3f\">\n".format(cases.values.sumOf { it.seconds }))
            for (c in cases.values) {
                append("  <testcase classname=\"${cls.name}\" name=\"${esc(c.name)}\" time=\"%.3f\"".format(c.seconds))
                val f = c.failure
                if (f == null) append("/>\n") else {
                    append(">\n    <failure message=\"${esc(f.message ?: "")}\">${esc(f.trace)}</failure>\n  </testcase>\n")
                }
            }
            append("</testsuite>\n")
        })
    }
    println("suite: $passed passed, $failed failed")
    exitProcess(if (failed == 0 && passed > 0) 0 else 1)
}
