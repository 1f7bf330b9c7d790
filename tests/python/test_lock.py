"""The app lock through the bindings: a locked store answers `Locked` to every exported method of
the store and the sync (walked from the bindings themselves, so a method added later cannot be
forgotten) but the lock's own; only its own vault unlocks it, with the same data."""

import asyncio
import enum
import inspect

import pytest

import gridbook as gb
from testkit import APP_VERSION, VAULT, household, open_store

# the lock's own calls answer while locked, and so does registering the sync indicator (no data)
LOCK_CALLS = {"lock", "unlock", "lock_status", "set_observer"}


def sample(annotation: str):
    """A value of the annotated type, as the bindings check it (the call must reach the lock)."""
    # the bindings write their annotations as quoted names ("'str'", "'Visit'")
    annotation = str(annotation).strip("'\"")
    simple = {"str": "x", "int": 1, "float": 1.0, "bool": False, "bytes": b"x"}
    if annotation in simple:
        return simple[annotation]
    if annotation.startswith(("typing.Optional[", "typing.Union[")):
        return None
    if annotation.startswith("typing.List["):
        return []
    if annotation.startswith("typing.Dict["):
        return {}
    if annotation == "DeviceSigner":
        return gb.in_memory_device_key(None)
    if annotation == "KeyVault":
        return VAULT
    kind = getattr(gb, annotation)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return next(iter(kind))
    # an enum with data is built as one of its variants, each a class of its own
    variants = [v for v in vars(kind).values() if isinstance(v, type) and issubclass(v, kind)]
    return construct(variants[0] if variants else kind)


def construct(kind):
    params = inspect.signature(kind.__init__).parameters
    return kind(**{
        name: sample(p.annotation)
        for name, p in params.items()
        if name != "self" and p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    })


def exported_methods(cls):
    return sorted(
        (name, fn) for name, fn in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name not in LOCK_CALLS
    )


def call(obj, name, fn):
    params = [p for n, p in inspect.signature(fn).parameters.items() if n != "self"]
    result = getattr(obj, name)(*[sample(p.annotation) for p in params])
    return asyncio.run(result) if inspect.iscoroutine(result) else result


def refuses_every_call(store, sync, error, skip=()):
    """Calls every exported method of the store and the sync (but the lock's own and `skip`) with
    sample arguments: each must raise `error`. Returns the names walked."""
    walked = []
    for obj, cls in [(store, gb.GridbookStore), (sync, gb.GridbookSync)]:
        for name, fn in exported_methods(cls):
            if name in skip:
                continue
            with pytest.raises(error):
                call(obj, name, fn)
                pytest.fail(f"{cls.__name__}.{name} answered")
            walked.append(name)
    return walked


def test_a_locked_store_answers_locked_to_every_exported_call(tmp_path):
    store = open_store(tmp_path / "phone.db")
    h = store.create_household(household())
    sync = gb.GridbookSync(store, APP_VERSION)
    store.lock()
    assert store.lock_status().locked
    walked = refuses_every_call(store, sync, gb.GridbookError.Locked)
    assert len(walked) >= 60 and "create_household" in walked and "sync_once" in walked, walked

    # another vault leaves it locked; its own unlocks it, the same data there
    with pytest.raises(gb.GridbookError.WrongKey):
        store.unlock(gb.software_vault(None))
    assert store.lock_status().locked
    store.unlock(VAULT)
    assert not store.lock_status().locked
    assert store.household(h.id).customer_name == "王芳"
    assert store.lock_status().policy.idle_lock_minutes == 5
    assert not store.lock_status().must_sync
