// The activity: navigation between the screens of the day (today with sign-in and the plan,
// appointments, buildings → households, the archive, the visit form, collection, tickets, the day's
// summary, sync), enrolment first, and the store-failure screen.
package app.gridbook.android

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.padding
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.Apartment
import androidx.compose.material.icons.automirrored.filled.Assignment
import androidx.compose.material.icons.filled.Sync
import androidx.compose.material.icons.filled.Today
import androidx.compose.material3.Icon
import androidx.compose.material3.NavigationBar
import androidx.compose.material3.NavigationBarItem
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.viewmodel.compose.viewModel
import androidx.navigation.NavHostController
import androidx.navigation.NavType
import androidx.navigation.compose.NavHost
import androidx.navigation.compose.composable
import androidx.navigation.compose.currentBackStackEntryAsState
import androidx.navigation.compose.rememberNavController
import androidx.navigation.navArgument
import app.gridbook.android.ui.AppointmentScreen
import app.gridbook.android.ui.BuildingsScreen
import app.gridbook.android.ui.CollectionScreen
import app.gridbook.android.ui.DaySummaryScreen
import app.gridbook.android.ui.EnrolScreen
import app.gridbook.android.ui.GridbookTheme
import app.gridbook.android.ui.HouseholdScreen
import app.gridbook.android.ui.SyncScreen
import app.gridbook.android.ui.TicketsScreen
import app.gridbook.android.ui.TodayActions
import app.gridbook.android.ui.TodayScreen
import app.gridbook.android.ui.VisitScreen

class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val graph = (application as GridbookApp).graph
        setContent {
            GridbookTheme {
                graph.fold(
                    onSuccess = { App(it) },
                    onFailure = { StoreFailure(it) },
                )
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

@Composable
private fun App(graph: Graph) {
    val nav = rememberNavController()
    val start = if (graph.sync.isEnrolled && graph.session != null) "today" else "enrol"
    Scaffold(bottomBar = { BottomBar(nav) }) { padding ->
        NavHost(nav, startDestination = start, modifier = Modifier.padding(padding)) {
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
                    newHousehold = { premises -> nav.navigate("household-new" + (premises?.let { "?premises=$it" } ?: "")) },
                )
            }
            composable("household/{id}") { entry ->
                val session = graph.session ?: return@composable
                val id = entry.arguments?.getString("id") ?: return@composable
                HouseholdScreen(
                    viewModel(key = "household-$id") { HouseholdViewModel(graph, session, id, null) },
                    startVisit = { nav.navigate("visit/$it") },
                    bookAppointment = { nav.navigate("appointment/$it") },
                )
            }
            composable(
                "household-new?premises={premises}",
                arguments = listOf(navArgument("premises") { type = NavType.StringType; nullable = true; defaultValue = null }),
            ) { entry ->
                val session = graph.session ?: return@composable
                val premises = entry.arguments?.getString("premises")?.ifBlank { null }
                HouseholdScreen(viewModel { HouseholdViewModel(graph, session, null, premises) }, startVisit = { nav.navigate("visit/$it") })
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
            composable("sync") {
                SyncScreen(viewModel { SyncViewModel(graph, graph.session) })
            }
        }
    }
}

@Composable
private fun BottomBar(nav: NavHostController) {
    val current by nav.currentBackStackEntryAsState()
    val route = current?.destination?.route
    if (route == null || route == "enrol") return
    NavigationBar {
        listOf(
            Triple("today", Icons.Filled.Today, R.string.tab_today),
            Triple("buildings", Icons.Filled.Apartment, R.string.tab_buildings),
            Triple("tickets?household={household}", Icons.AutoMirrored.Filled.Assignment, R.string.tab_tickets),
            Triple("sync", Icons.Filled.Sync, R.string.tab_sync),
        ).forEach { (dest, icon, label) ->
            NavigationBarItem(
                selected = route == dest,
                onClick = { nav.navigate(dest.substringBefore('?')) { launchSingleTop = true; popUpTo("today") } },
                icon = { Icon(icon, contentDescription = null) },
                label = { Text(stringResource(label)) },
            )
        }
    }
}
