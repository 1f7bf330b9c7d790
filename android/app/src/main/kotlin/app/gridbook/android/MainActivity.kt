// The activity: edge to edge with the keyboard never covering a field (IME padding), the privacy
// notice first, then enrolment or the screens of the day (today, buildings → households, the
// archive, the visit form, collection, the arrears list and notice, appointments, tickets, the
// day's summary, sync), behind the app lock (AppLock.kt). A tab tapped keeps the screens under the others (their back stacks are
// saved and restored, and unsaved forms are kept in core-logic's Drafts); the store-failure and
// opening screens while the store is not ready.
package app.gridbook.android

import android.content.Intent
import android.net.Uri
import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.enableEdgeToEdge
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.consumeWindowInsets
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.imePadding
import androidx.compose.foundation.layout.padding
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.Assignment
import androidx.compose.material.icons.filled.Apartment
import androidx.compose.material.icons.filled.CurrencyYuan
import androidx.compose.material.icons.filled.Sync
import androidx.compose.material.icons.filled.Today
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.Icon
import androidx.compose.material3.NavigationBar
import androidx.compose.material3.NavigationBarItem
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.key
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import androidx.lifecycle.viewmodel.compose.viewModel
import androidx.navigation.NavDestination.Companion.hierarchy
import androidx.navigation.NavGraph.Companion.findStartDestination
import androidx.navigation.NavHostController
import androidx.navigation.NavType
import androidx.navigation.compose.NavHost
import androidx.navigation.compose.composable
import androidx.navigation.compose.currentBackStackEntryAsState
import androidx.navigation.compose.rememberNavController
import androidx.navigation.navArgument
import app.gridbook.android.ui.AppointmentScreen
import app.gridbook.android.ui.ArrearsScreen
import app.gridbook.android.ui.BuildingsScreen
import app.gridbook.android.ui.CollectionScreen
import app.gridbook.android.ui.DaySummaryScreen
import app.gridbook.android.ui.EnrolScreen
import app.gridbook.android.ui.GridbookTheme
import app.gridbook.android.ui.HouseholdActions
import app.gridbook.android.ui.HouseholdScreen
import app.gridbook.android.ui.NoticeScreen
import app.gridbook.android.ui.PrivacyScreen
import app.gridbook.android.ui.SyncScreen
import app.gridbook.android.ui.TicketsScreen
import app.gridbook.android.ui.TodayActions
import app.gridbook.android.ui.TodayScreen
import app.gridbook.android.ui.VisitScreen

class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        enableEdgeToEdge()
        super.onCreate(savedInstanceState)
        val app = application as GridbookApp
        setContent {
            GridbookTheme {
                var consentNeeded by remember { mutableStateOf(app.consent.needed) }
                val state by app.graph.collectAsStateWithLifecycle()
                when {
                    consentNeeded -> PrivacyScreen(agree = { app.consent.agree(); consentNeeded = false }, decline = { finish() })
                    else -> when (val s = state) {
                        GraphState.Opening -> Box(Modifier.fillMaxSize(), contentAlignment = Alignment.Center) { CircularProgressIndicator() }
                        // the lock screen while the store is locked (idle past the server's minutes)
                        // a new graph (after a remote wipe) starts its screens afresh, at enrolment
                        is GraphState.Ready -> key(s.graph) { Locked(this@MainActivity, s.graph.store) { App(s.graph) } }
                        is GraphState.Failed -> StoreFailure(s.error)
                    }
                }
            }
        }
    }
}

@Composable
private fun StoreFailure(e: Throwable) {
    Column(Modifier.padding(24.dp)) {
        Text(stringResource(R.string.store_failed))
        Text(e.message ?: e.javaClass.simpleName)
    }
}

/** The tabs: where each goes, its icon and label. */
private val TABS = listOf(
    Triple("today", Icons.Filled.Today, R.string.tab_today),
    Triple("buildings", Icons.Filled.Apartment, R.string.tab_buildings),
    Triple("arrears", Icons.Filled.CurrencyYuan, R.string.tab_arrears),
    Triple("tickets", Icons.AutoMirrored.Filled.Assignment, R.string.tab_tickets),
    Triple("sync", Icons.Filled.Sync, R.string.tab_sync),
)

@Composable
private fun App(graph: Graph) {
    val nav = rememberNavController()
    val start = if (graph.sync.isEnrolled && graph.session != null) "today" else "enrol"
    Scaffold(bottomBar = { BottomBar(nav) }) { padding ->
        NavHost(
            nav, startDestination = start,
            // the keyboard pushes the form up instead of covering the field being typed in
            modifier = Modifier.padding(padding).consumeWindowInsets(padding).imePadding(),
        ) {
            composable("enrol") {
                EnrolScreen(viewModel { EnrolViewModel(graph) }) {
                    nav.navigate("today") { popUpTo("enrol") { inclusive = true } }
                }
            }
            composable("today") {
                val session = graph.session ?: return@composable
                TodayScreen(
                    viewModel { TodayViewModel(graph, session) },
                    TodayActions(
                        openHousehold = { nav.navigate("household/$it") },
                        keepAppointment = { household, appointment -> nav.navigate("visit/$household?appointment=$appointment") },
                        openAppointment = { household, appointment, late -> nav.navigate("appointment/$household?id=$appointment&late=$late") },
                        collect = { nav.navigate("collect/$it") },
                        openTickets = { nav.navigate("tickets") },
                        openArrears = { nav.navigate("arrears") },
                        openDaySummary = { nav.navigate("day-summary") },
                        openSync = { nav.navigate("sync") },
                    ),
                )
            }
            composable(
                "appointment/{householdId}?id={id}&late={late}",
                arguments = listOf(
                    navArgument("id") { type = NavType.StringType; nullable = true; defaultValue = null },
                    navArgument("late") { type = NavType.BoolType; defaultValue = false },
                ),
            ) { entry ->
                val session = graph.session ?: return@composable
                val household = entry.arguments?.getString("householdId") ?: return@composable
                val id = entry.arguments?.getString("id")
                val late = entry.arguments?.getBoolean("late") ?: false
                AppointmentScreen(viewModel(key = "appointment-$household-$id") { AppointmentViewModel(graph, session, household, id, late) }) { nav.popBackStack() }
            }
            composable(
                "tickets?household={household}",
                arguments = listOf(navArgument("household") { type = NavType.StringType; nullable = true; defaultValue = null }),
            ) { entry ->
                val session = graph.session ?: return@composable
                val household = entry.arguments?.getString("household")
                TicketsScreen(viewModel(key = "tickets-$household") { TicketsViewModel(graph, session, household) })
            }
            composable("day-summary") {
                val session = graph.session ?: return@composable
                DaySummaryScreen(viewModel { DaySummaryViewModel(graph, session) })
            }
            composable("buildings") {
                val session = graph.session ?: return@composable
                BuildingsScreen(
                    viewModel { BuildingsViewModel(graph, session) },
                    openHousehold = { nav.navigate("household/$it") },
                    newHousehold = { premises, grid -> nav.navigate("household-new?grid=$grid" + (premises?.let { "&premises=$it" } ?: "")) },
                )
            }
            val household = HouseholdActions(
                startVisit = { nav.navigate("visit/$it") },
                bookAppointment = { nav.navigate("appointment/$it") },
                collect = { nav.navigate("collect/$it") },
                notice = { nav.navigate("notice/$it") },
                dial = { number -> nav.context.startActivity(Intent(Intent.ACTION_DIAL, Uri.parse("tel:$number")).addFlags(Intent.FLAG_ACTIVITY_NEW_TASK)) },
            )
            composable("household/{id}") { entry ->
                val session = graph.session ?: return@composable
                val id = entry.arguments?.getString("id") ?: return@composable
                HouseholdScreen(viewModel(key = "household-$id") { HouseholdViewModel(graph, session, id, null) }, household)
            }
            composable(
                "household-new?grid={grid}&premises={premises}",
                arguments = listOf(
                    navArgument("grid") { type = NavType.StringType; nullable = true; defaultValue = null },
                    navArgument("premises") { type = NavType.StringType; nullable = true; defaultValue = null },
                ),
            ) { entry ->
                val session = graph.session ?: return@composable
                val premises = entry.arguments?.getString("premises")?.ifBlank { null }
                val grid = entry.arguments?.getString("grid")?.takeIf { it in session.grids } ?: session.grid
                HouseholdScreen(viewModel(key = "household-new-$grid-$premises") { HouseholdViewModel(graph, session, null, premises, grid) }, household)
            }
            composable(
                "visit/{householdId}?appointment={appointment}",
                arguments = listOf(navArgument("appointment") { type = NavType.StringType; nullable = true; defaultValue = null }),
            ) { entry ->
                val session = graph.session ?: return@composable
                val id = entry.arguments?.getString("householdId") ?: return@composable
                val appointment = entry.arguments?.getString("appointment")
                VisitScreen(
                    viewModel(key = "visit-$id-$appointment") { VisitViewModel(graph, session, id, appointment) },
                    takeTicket = { nav.navigate("tickets?household=$it") },
                ) { nav.popBackStack() }
            }
            composable("collect/{accountId}") { entry ->
                val session = graph.session ?: return@composable
                val id = entry.arguments?.getString("accountId") ?: return@composable
                CollectionScreen(viewModel(key = "collect-$id") { CollectionViewModel(graph, session, id) }) { nav.popBackStack() }
            }
            composable("notice/{accountId}") { entry ->
                val session = graph.session ?: return@composable
                val id = entry.arguments?.getString("accountId") ?: return@composable
                NoticeScreen(viewModel(key = "notice-$id") { NoticeViewModel(graph, session, id) }) { nav.popBackStack() }
            }
            composable("arrears") {
                val session = graph.session ?: return@composable
                ArrearsScreen(
                    viewModel { ArrearsViewModel(graph, session) },
                    collect = { nav.navigate("collect/$it") },
                    notice = { nav.navigate("notice/$it") },
                )
            }
            composable("sync") {
                SyncScreen(viewModel { SyncViewModel(graph, graph.session) })
            }
        }
    }
}

@Composable
private fun BottomBar(nav: NavHostController) {
    val current by nav.currentBackStackEntryAsState()
    val destination = current?.destination
    if (destination == null || destination.route == "enrol") return
    NavigationBar {
        TABS.forEach { (dest, icon, label) ->
            NavigationBarItem(
                selected = destination.hierarchy.any { it.route?.substringBefore('?') == dest },
                onClick = {
                    nav.navigate(dest) {
                        // back to the start, keeping what was open under the tab left (a half-filled
                        // visit is there again when its tab is tapped), and bringing back this tab's
                        popUpTo(nav.graph.findStartDestination().id) { saveState = true }
                        launchSingleTop = true
                        restoreState = true
                    }
                },
                icon = { Icon(icon, contentDescription = null) },
                label = { Text(stringResource(label)) },
            )
        }
    }
}
