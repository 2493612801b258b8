"""The wizard's field mapping step (SPEC S5, S6, Y4, Y11, B4).

One drop-down per writable Brevo contact attribute, offering only the Salesforce fields that
may map to it (:func:`toolkit.mapping.mappable_fields`: formula and read-only fields are never
listed; booleans and picklists only with the B4 switch). The proposal comes from
:func:`toolkit.mapping.suggest_mapping` (or the integration's saved mapping). Every change is
checked at once with :func:`toolkit.mapping.validate_mapping` and, when valid, saved; when not,
the reason is said in place (e.g. no EMAIL or SMS mapped, S5).
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import traitlets

from toolkit.exceptions import MappingError
from toolkit.mapping import mappable_fields, suggest_mapping, validate_mapping
from toolkit.mapping_types import attribute_list, brevo_kind

from .common import INIT, READY, friendly_error
from .wizard import WizardStep

__all__ = ["MappingStep", "NOT_SYNCED"]

NOT_SYNCED = ""
"""The drop-down value of an attribute left unmapped."""

_ROW = {"description_width": "14em"}


class MappingStep(WizardStep):
    """S5: a drop-down of compatible Salesforce fields per Brevo attribute.

    Attributes:
        object: the Salesforce object (from the name step).
        connection: the connection (from the connect step); a new one reloads the fields.
        dropdowns: Brevo attribute name -> its drop-down (value: a field's API name or ``""``).
        b4: the "booleans and picklists" switch (B4).
    """

    title = "Field mapping"
    object = traitlets.Unicode("")
    connection = traitlets.Unicode("")

    def __init__(self, tk: Any, **kwargs: Any) -> None:
        super().__init__(tk, **kwargs)
        self.dropdowns: dict[str, widgets.Dropdown] = {}
        self._describe: dict[str, Any] = {}
        self._attributes: list[dict[str, Any]] = []
        self._loading = False
        self.b4 = widgets.Checkbox(value=False, indent=False, layout=widgets.Layout(width="auto"),
                                   description="Also sync boolean fields and picklists (Brevo boolean and "
                                               "category attributes, extension B4)")
        self.b4.observe(self._b4_changed, names="value")
        self.rows = widgets.VBox()
        self.rows.add_class("toolkit-mapping-rows")
        intro = widgets.HTML("<p>For each Brevo attribute, choose the Salesforce field it syncs with (both ways). "
                             "Attributes left “not synced” are not touched. Formula fields are never offered. "
                             "At least EMAIL or SMS must be mapped.</p>")
        self.children = [intro, self.b4, self.rows, self.message]
        self.observe(lambda _: self.reset(), names="connection")

    def enter(self) -> None:
        """Load both sides' metadata and propose a mapping (once per connection)."""
        if self.state != INIT:
            return
        loaded = self.attempt(self._load)
        if loaded is not None:
            self.state = READY
            self._check()

    def _load(self) -> bool:
        integ = self.tk.store.get_integration(self.integration)
        self._describe = self.tk.salesforce(integ).describe(integ.object)
        self._attributes = attribute_list(self.tk.brevo_attributes(integ.name))
        saved = (integ.mapping or {}).get("pairs")
        self._loading = True
        try:
            self.b4.value = bool(integ.sync_booleans_picklists) if saved else self.b4.value
            self._build(dict(saved) if saved else dict(self._suggest()))
        finally:
            self._loading = False
        return True

    def _suggest(self) -> list[tuple[str, str]]:
        return suggest_mapping(self._describe, self._attributes, booleans_and_picklists=self.b4.value)

    def _build(self, chosen: dict[str, str]) -> None:
        """One drop-down per writable attribute, pre-set to ``chosen`` where that is offered."""
        offered = mappable_fields(self._describe, booleans_and_picklists=self.b4.value)
        self.dropdowns = {}
        rows = []
        for attribute in self._attributes:
            kind = brevo_kind(attribute)
            if kind is None:
                continue  # EXT_ID and Brevo-computed attributes are never written by a sync
            name = str(attribute["name"]).upper()
            options = [("— not synced —", NOT_SYNCED)] + [
                (f"{f.label} ({f.name})", f.name) for f in offered if kind in f.brevo_types]
            value = chosen.get(name, NOT_SYNCED)
            dropdown = widgets.Dropdown(options=options, description=name, style=_ROW,
                                        value=value if value in {v for _, v in options} else NOT_SYNCED,
                                        disabled=len(options) == 1, layout=widgets.Layout(width="36em"))
            dropdown.add_class(f"toolkit-map-{name.lower()}")
            dropdown.observe(self._changed, names="value")
            self.dropdowns[name] = dropdown
            hint = widgets.HTML(f'<span style="color:#666;font-size:12px">{kind} attribute'
                                + (", no compatible field" if len(options) == 1 else "") + "</span>")
            rows.append(widgets.HBox([dropdown, hint]))
        self.rows.children = rows

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """The chosen ``(brevo_attribute, salesforce_field)`` pairs."""
        return [(name, box.value) for name, box in self.dropdowns.items() if box.value != NOT_SYNCED]

    def options_for(self, attribute: str) -> list[str]:
        """The Salesforce field names offered for a Brevo attribute (what its drop-down lists)."""
        return [v for _, v in self.dropdowns[attribute.upper()].options if v != NOT_SYNCED]

    def _b4_changed(self, _change: Any) -> None:
        if self._loading or not self._describe:
            return
        current = dict(self.pairs)
        for name, field in self._suggest():  # newly offered booleans/picklists get their proposal
            current.setdefault(name, field)
        self._loading = True
        try:
            self._build(current)
        finally:
            self._loading = False
        self._check()

    def _changed(self, _change: Any) -> None:
        if not self._loading:
            self._check()

    def _check(self) -> None:
        """Validate the choice; save it when valid, otherwise say why in place."""
        pairs = self.pairs
        try:
            validate_mapping(pairs, self._describe, self._attributes, booleans_and_picklists=self.b4.value)
        except MappingError as exc:
            self.fail(friendly_error(exc))
            return
        mapping = self.attempt(lambda: self.tk.set_mapping(self.integration, pairs,
                                                           booleans_and_picklists=self.b4.value))
        if mapping is not None:
            shown = ", ".join(f"{a} ← {f}" for a, f in mapping.pairs)
            self.succeed(f"{len(mapping.pairs)} attribute(s) mapped: {shown}.")
