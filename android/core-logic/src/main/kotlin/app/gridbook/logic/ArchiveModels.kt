// The archive screens' state: buildings → households (and search) in each of the manager's
// grids, and the household archive (view, edit, reveal with a purpose, duplicate warning before
// creating, history, its debts to collect on, the number to call).
package app.gridbook.logic

import app.gridbook.ffi.core.ArrearsLine
import app.gridbook.ffi.core.HistoryEntry
import app.gridbook.ffi.core.Household
import app.gridbook.ffi.core.PossibleDuplicate
import app.gridbook.ffi.core.Premises
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

data class BuildingsState(
    /** The grids the manager works, and the one shown. */
    val grids: List<String> = emptyList(),
    val grid: String = "",
    val premises: List<Premises> = emptyList(),
    val selected: Premises? = null,
    val households: List<Household> = emptyList(),
    val query: String = "",
    val found: List<Household> = emptyList(),
    val problem: Problem? = null,
)

class BuildingsModel(private val archive: ArchiveRepository, grids: List<String>) {
    constructor(archive: ArchiveRepository, grid: String) : this(archive, listOf(grid))

    private val _state = MutableStateFlow(BuildingsState(grids = grids, grid = grids.firstOrNull() ?: ""))
    val state: StateFlow<BuildingsState> = _state.asStateFlow()
    private val grid: String get() = _state.value.grid

    /** Shows another of the manager's grids: its buildings, nothing selected, no search. */
    suspend fun selectGrid(grid: String) {
        if (grid !in _state.value.grids) return
        _state.value = _state.value.copy(grid = grid, selected = null, households = emptyList(), query = "", found = emptyList())
        refresh()
    }

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
    /** What this household still owes, account by account: collect or give a notice from its page. */
    val arrears: List<ArrearsLine> = emptyList(),
    val saved: Household? = null,
    val problem: Problem? = null,
)

enum class SaveOutcome { SAVED, CONFIRM_DUPLICATES, FAILED }

/** [fieldwork] and [grids] give the household's debts (none without them). */
class HouseholdModel(
    private val archive: ArchiveRepository,
    private val fieldwork: FieldworkRepository? = null,
    private val grids: List<String> = emptyList(),
) {
    private val _state = MutableStateFlow(HouseholdState())
    val state: StateFlow<HouseholdState> = _state.asStateFlow()

    /** Shows an archive, masked, with its history and what it still owes. */
    suspend fun open(id: String) {
        val h = archive.household(id)
        val history = archive.history(id)
        val owed = fieldwork?.arrearsOf(id, grids) ?: Result.success(emptyList())
        _state.value = HouseholdState(
            form = h.getOrNull(), history = history.getOrDefault(emptyList()), arrears = owed.getOrDefault(emptyList()).collectable(),
            problem = h.problem ?: history.problem ?: owed.problem,
        )
    }

    /** After a visit, a receipt or a notice: the history and the debts read again, the form kept as edited. */
    suspend fun refreshRecords() {
        val s = _state.value
        val id = s.form?.id ?: return
        if (s.isNew) return
        val history = archive.history(id)
        val owed = fieldwork?.arrearsOf(id, grids) ?: Result.success(emptyList())
        _state.value = _state.value.copy(
            history = history.getOrDefault(s.history), arrears = owed.getOrDefault(s.arrears).collectable(),
            problem = history.problem ?: owed.problem ?: _state.value.problem,
        )
    }

    /**
     * The number to dial (tap to call): the mobile, else the landline, shown in full for it —
     * a reveal like any other, its purpose ([CALL_PURPOSE]) kept in the access trail. Null when
     * the archive has none or the reveal failed (the problem says why).
     */
    suspend fun numberToCall(): String? {
        val s = _state.value
        val form = s.form ?: return null
        if (s.isNew) return null
        if (!s.revealed) reveal(CALL_PURPOSE)
        val full = _state.value.form ?: return null
        if (!_state.value.revealed) return null
        return dialable(full.mobile) ?: dialable(full.landline) ?: dialable(form.otherContact)
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
