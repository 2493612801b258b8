"""The public API is exactly what ``__all__`` lists, sorted, and every name is documented."""

from __future__ import annotations

import importlib
import inspect

import pytest

PACKAGES = [
    "toolkit",
    "toolkit.audit",
    "toolkit.brevo",
    "toolkit.mapping",
    "toolkit.notify",
    "toolkit.rules",
    "toolkit.salesforce",
    "toolkit.sandbox",
    "toolkit.store",
    "toolkit.sync",
    "toolkit.ui",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_resolvable(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported)
    for item in exported:
        assert hasattr(module, item), f"{name}.{item}"


@pytest.mark.parametrize("name", PACKAGES)
def test_public_classes_and_functions_have_docstrings(name: str) -> None:
    module = importlib.import_module(name)
    for item in module.__all__:
        obj = getattr(module, item)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), f"{name}.{item} has no docstring"
