"""Gridbook for Python as one module: the generated bindings of gridbook-core's records and enums
(gridbook_core) and of gridbook-ffi's store, sync, evidence and log sink (gridbook_ffi), which
uniffi generates as two modules, one per crate. scripts/gen-bindings.sh copies this file beside
them.

    import gridbook as gb
    store = gb.GridbookStore.open(path, gb.software_vault(None))  # phones: the Keystore / Keychain vault
    store.create_household(gb.Household(grid_id="g1", customer_name="王芳"))
"""
from gridbook_core import *  # noqa: F401,F403
from gridbook_ffi import *  # noqa: F401,F403
