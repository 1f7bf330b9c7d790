// The archive screens' state: buildings → households (and search), and the household archive
// (view, edit, reveal with a purpose, duplicate warning before creating, history).
package app.gridbook.logic

import app.gridbook.ffi.core.HistoryEntry
import app.gridbook.ffi.core.Household
import app.gridbook.ffi.core.PossibleDuplicate
import app.gridbook.ffi.core.Premises
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

data class BuildingsState(
    val premises: List<Premises> = emptyList(),
    val selected: Premises? = null,
    val households: List<Household> = emptyList(),
    val query: String = "",
    val found: List<Household> = emptyList(),
    val problem: Problem? = null,
)

class BuildingsModel(private val archive: ArchiveRepository, private val grid: String) {
    private val _state = MutableStateFlow(BuildingsState())
    val state: StateFlow<BuildingsState> = _state.asStateFlow()

    suspend fun refresh() {
        val premises = archive.premises(grid)
        _state.value = _state.value.copy(premises = premises.getOrDefault(emptyList()), problem = premises.problem)
        _state.value.selected?.let { select(it) }
    }

    /** Opens a building: its households in door order. */
    suspend fun select(p: Premises) {
        val households = archive.households(p.id)
        _state.value = _state.value.copy(selected = p, households = households.getOrDefault(emptyList()), problem = households.problem)
    }

    suspend fun addPremises(p: Premises): Boolean {
        val created = archive.createPremises(p.copy(gridId = grid))
        _state.value = _state.value.copy(problem = created.problem)
        if (created.isSuccess) refresh()
        return created.isSuccess
    }

    /** Searches the grid by name, phone, address or service number; blank clears. */
    suspend fun search(query: String) {
        if (query.isBlank()) {
            _state.value = _state.value.copy(query = query, found = emptyList(), problem = null)
            return
        }
        val found = archive.search(grid, query)
        _state.value = _state.value.copy(query = query, found = found.getOrDefault(emptyList()), problem = found.problem)
    }
}

data class HouseholdState(
    /** What the form shows: masked numbers unless revealed. */
    val form: Household? = null,
    val isNew: Boolean = false,
    val revealed: Boolean = false,
    /** Archives that may be this household; creating needs them acknowledged first. */
    val duplicates: List<PossibleDuplicate> = emptyList(),
    val duplicatesAcknowledged: Boolean = false,
    val history: List<HistoryEntry> = emptyList(),
    val saved: Household? = null,
    val problem: Problem? = null,
)

enum class SaveOutcome { SAVED, CONFIRM_DUPLICATES, FAILED }

class HouseholdModel(private val archive: ArchiveRepository) {
    private val _state = MutableStateFlow(HouseholdState())
    val state: StateFlow<HouseholdState> = _state.asStateFlow()

    /** Shows an archive, masked, with its history. */
    suspend fun open(id: String) {
        val h = archive.household(id)
        val history = archive.history(id)
        _state.value = HouseholdState(form = h.getOrNull(), history = history.getOrDefault(emptyList()), problem = h.problem ?: history.problem)
    }

    /** A blank archive for a new household (in a building when [premisesId] is given). */
    fun startNew(grid: String, premisesId: String?) {
        _state.value = HouseholdState(form = Household(gridId = grid, premisesId = premisesId, customerName = ""), isNew = true)
    }

    /** Applies an edit to the form. On a new archive the duplicate check must run again. */
    fun edit(change: (Household) -> Household) {
        val s = _state.value
        val form = s.form ?: return
        _state.value = s.copy(
            form = change(form), saved = null, problem = null,
            duplicates = if (s.isNew) emptyList() else s.duplicates,
            duplicatesAcknowledged = if (s.isNew) false else s.duplicatesAcknowledged,
        )
    }

    /** Shows the ID and phone numbers in full; the purpose is kept in the access trail. */
    suspend fun reveal(purpose: String) {
        val id = _state.value.form?.id ?: return
        val full = archive.reveal(id, purpose)
        _state.value = _state.value.copy(form = full.getOrNull() ?: _state.value.form, revealed = full.isSuccess, problem = full.problem)
    }

    /** The manager looked at the possible duplicates and this is a different household. */
    fun acknowledgeDuplicates() {
        _state.value = _state.value.copy(duplicatesAcknowledged = true)
    }

    suspend fun save(): SaveOutcome {
        val s = _state.value
        val form = s.form ?: return SaveOutcome.FAILED
        if (s.isNew && !s.duplicatesAcknowledged) {
            val dups = archive.duplicates(form)
            if (dups.isFailure) {
                _state.value = s.copy(problem = dups.problem)
                return SaveOutcome.FAILED
            }
            if (dups.getOrThrow().isNotEmpty()) {
                _state.value = s.copy(duplicates = dups.getOrThrow())
                return SaveOutcome.CONFIRM_DUPLICATES
            }
        }
        val saved = if (s.isNew) archive.create(form) else archive.update(form)
        return saved.fold(
            onSuccess = { h ->
                // Show the stored archive masked again, whatever was on screen.
                val masked = archive.household(h.id).getOrDefault(h)
                _state.value = s.copy(form = masked, isNew = false, revealed = false, saved = masked, problem = null)
                SaveOutcome.SAVED
            },
            onFailure = {
                _state.value = s.copy(problem = saved.problem)
                SaveOutcome.FAILED
            },
        )
    }
}
