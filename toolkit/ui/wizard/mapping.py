"""The wizard's field mapping step (SPEC S5, S6, Y4, Y11, B4).

One drop-down per writable Brevo contact attribute, offering only the Salesforce fields that
may map to it (:func:`toolkit.mapping.mappable_fields`: formula and read-only fields are never
listed; booleans and picklists only with the B4 switch). The proposal comes from
:func:`toolkit.mapping.suggest_mapping` (or the integration's saved mapping). Every change is
checked at once with :func:`toolkit.mapping.validate_mapping` and, when valid, saved; when not,
the reason is said in place (e.g. no EMAIL or SMS mapped, S5).

Below the drop-downs, the phone region: the ISO region in which national phone numbers
(``0151 2345678``) of records naming no country are read, offered as every region the
``phonenumbers`` library knows, by country name. It defaults to the integration's saved region,
else the org's (:meth:`toolkit.api.Toolkit.org_region`, Salesforce's ``Organization``), and is
saved with the mapping (``set_mapping(..., default_region=...)``).

Editing a live integration (``editing``), nothing is saved here: the save step stores the
choice with the other changes, after its preview.

Then B8: a checkbox "Sync unsubscribes (B8)" (Brevo's ``emailBlacklisted`` <-> Salesforce's
``HasOptedOutOfEmail``, both ways), ticked for a new integration, and, while an SMS attribute is
mapped, a drop-down of the object's checkboxes for Brevo's ``smsBlacklisted`` (empty: not
synced). Both are checked with the mapping and saved with
``store.update_integration(name, sync_unsubscribes=..., sms_optout_field=...)``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from functools import lru_cache
from typing import Any

import ipywidgets as widgets
import phonenumbers
import traitlets

from toolkit.api import Toolkit
from toolkit.exceptions import MappingError
from toolkit.mapping import mappable_fields, optout_checkboxes, suggest_mapping, validate_mapping
from toolkit.mapping.types import SMS, Mapping, attribute_list, brevo_kind

from ..common import INIT, READY, friendly_error
from .step import WizardStep

__all__ = ["MappingStep", "NOT_SYNCED", "NO_REGION", "SMS_OPTOUT_NONE", "region_choices", "region_name"]

NOT_SYNCED = ""
"""The drop-down value of an attribute left unmapped."""

SMS_OPTOUT_NONE = ""
"""The SMS opt-out drop-down's value when ``smsBlacklisted`` is not synced (B8)."""

NO_REGION = ""
"""The phone region drop-down's value when no region is set (offered only while none is known)."""

_NO_REGION_LABEL = "— none: national numbers without a country are rejected —"
_MISSING_NAMES = {"AC": "Ascension Island", "TA": "Tristan da Cunha", "XK": "Kosovo"}  # not in the geodata

_ROW = {"description_width": "14em"}


def _fold(text: str) -> str:
    """``"Åland Islands"`` as ``"aland islands"``: the sort key of country names."""
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(ch)
    )


def region_name(region: str) -> str:
    """The English name of an ISO region (``"DE"`` -> ``"Germany"``), from phonenumbers' geodata.

    Falls back to the code itself where the geodata has no name (or is not installed, as with
    ``phonenumberslite``).
    """
    try:
        from phonenumbers.geodata.locale import LOCALE_DATA
    except ImportError:  # pragma: no cover - phonenumberslite
        LOCALE_DATA = {}
    names = LOCALE_DATA.get(region, {})
    name = names.get("en", "")
    for _ in range(3):  # "*xx" points to the entry of language "xx"
        if not name.startswith("*"):
            break
        name = names.get(name[1:], "")
    return name if name and not name.startswith("*") else _MISSING_NAMES.get(region, region)


@lru_cache(maxsize=1)
def region_choices() -> tuple[tuple[str, str], ...]:
    """Every region phonenumbers supports as ``(label, code)``, sorted by name: ``("Germany (DE, +49)", "DE")``."""
    regions = [(region_name(r), r) for r in phonenumbers.SUPPORTED_REGIONS]
    return tuple(
        (f"{name} ({code}, +{phonenumbers.country_code_for_region(code)})", code)
        for name, code in sorted(regions, key=lambda item: (_fold(item[0]), item[1]))
    )


class MappingStep(WizardStep):
    """S5: a drop-down of compatible Salesforce fields per Brevo attribute, and the phone region.

    Attributes:
        object: the Salesforce object (from the name step).
        connection: the connection (from the connect step); a new one reloads the fields.
        dropdowns: Brevo attribute name -> its drop-down (value: a field's API name or ``""``).
        b4: the "booleans and picklists" switch (B4).
        region: the phone region drop-down (value: an ISO code such as ``"DE"``, or
            :data:`NO_REGION` while none is known).
        b8: the "Sync unsubscribes (B8)" checkbox.
        sms_optout: the checkbox field ``smsBlacklisted`` syncs with (value: a field's API name,
            or :data:`SMS_OPTOUT_NONE`); shown while an SMS attribute is mapped and B8 is on.
    """

    title = "Field mapping"
    object = traitlets.Unicode("")
    connection = traitlets.Unicode("")

    def __init__(self, tk: Toolkit, **kwargs: Any) -> None:
        super().__init__(tk, **kwargs)
        self.dropdowns: dict[str, widgets.Dropdown] = {}
        self._describe: dict[str, Any] = {}
        self._attributes: list[dict[str, Any]] = []
        self._loading = False
        self.b4 = widgets.Checkbox(
            value=False,
            indent=False,
            layout=widgets.Layout(width="auto"),
            description="Also sync boolean fields and picklists (Brevo boolean and "
            "category attributes, extension B4)",
        )
        self.b4.observe(self._b4_changed, names="value")
        self.rows = widgets.VBox()
        self.rows.add_class("toolkit-mapping-rows")
        intro = widgets.HTML(
            "<p>For each Brevo attribute, choose the Salesforce field it syncs with (both ways). "
            "Attributes left “not synced” are not touched. Formula fields are never offered. "
            "At least EMAIL or SMS must be mapped.</p>"
        )
        self.region = widgets.Dropdown(
            options=list(region_choices()),
            value=None,
            description="Phone region",
            style=_ROW,
            layout=widgets.Layout(width="36em"),
        )
        self.region.add_class("toolkit-phone-region")
        self.region.observe(self._changed, names="value")
        region_hint = widgets.HTML(
            '<span style="color:#666;font-size:12px;line-height:1.4;display:block">Phone numbers written without '
            "a country code (“0151 2345678”) on records naming no country are read as numbers of this region; "
            "Brevo gets them in international form (+49…). The org's country is proposed.</span>",
            layout=widgets.Layout(flex="1 1 0%", min_width="0"),
        )
        self.b8 = widgets.Checkbox(
            value=True,
            indent=False,
            layout=widgets.Layout(width="auto"),
            description="Sync unsubscribes (B8): a contact unsubscribed in Brevo is opted out of e-mail in "
            "Salesforce (Email Opt Out), and the other way round",
        )
        self.b8.add_class("toolkit-sync-unsubscribes")
        self.b8.observe(self._changed, names="value")
        self.sms_optout = widgets.Dropdown(
            options=[("— not synced —", SMS_OPTOUT_NONE)],
            value=SMS_OPTOUT_NONE,
            description="SMS unsubscribes ⟷",
            style=_ROW,
            layout=widgets.Layout(width="36em", display="none"),
        )
        self.sms_optout.add_class("toolkit-sms-optout")
        self.sms_optout.observe(self._changed, names="value")
        self.children = [
            intro,
            self.b4,
            self.rows,
            widgets.HBox([self.region, region_hint], layout=widgets.Layout(margin="6px 0 0 0")),
            self.b8,
            self.sms_optout,
            self.message,
        ]
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
        if self.editing and self.connection:  # another connection chosen in this edit, not saved yet
            integ = replace(integ, connection_id=self.tk.store.get_connection(self.connection).id)
        self._describe = self.tk.salesforce(integ).describe(integ.object)
        self._attributes = attribute_list(self.tk.brevo_attributes(integ.name))
        saved = (integ.mapping or {}).get("pairs")
        region = integ.default_region or self.tk.org_region(integ.name)
        self._loading = True
        try:
            self.b4.value = bool(integ.sync_booleans_picklists) if saved else self.b4.value
            self._build(dict(saved) if saved else dict(self._suggest()))
            self._set_region(region)
            self.b8.value = bool(integ.sync_unsubscribes)  # new integrations: on (the store's default)
            self.sms_optout.options = [("— not synced —", SMS_OPTOUT_NONE)] + [
                (f"{f.label} ({f.name})", f.name) for f in optout_checkboxes(self._describe)
            ]
            chosen = integ.sms_optout_field or SMS_OPTOUT_NONE
            offered = {v for _, v in self.sms_optout.options}
            self.sms_optout.value = chosen if chosen in offered else SMS_OPTOUT_NONE
        finally:
            self._loading = False
        return True

    def _set_region(self, region: str | None) -> None:
        """Offer every region, plus "none" only while no region is known; select ``region``."""
        choices = list(region_choices())
        known = region is not None and region.upper() in {code for _, code in choices}
        self.region.options = choices if known else [(_NO_REGION_LABEL, NO_REGION), *choices]
        self.region.value = region.upper() if known and region else NO_REGION

    @property
    def default_region(self) -> str | None:
        """The chosen phone region (``"DE"``), or ``None`` when none is chosen."""
        return self.region.value or None

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
                (f"{f.label} ({f.name})", f.name) for f in offered if kind in f.brevo_types
            ]
            value = chosen.get(name, NOT_SYNCED)
            dropdown = widgets.Dropdown(
                options=options,
                description=name,
                style=_ROW,
                value=value if value in {v for _, v in options} else NOT_SYNCED,
                disabled=len(options) == 1,
                layout=widgets.Layout(width="36em"),
            )
            dropdown.add_class(f"toolkit-map-{name.lower()}")
            dropdown.observe(self._changed, names="value")
            self.dropdowns[name] = dropdown
            hint = widgets.HTML(
                f'<span style="color:#666;font-size:12px">{kind} attribute'
                + (", no compatible field" if len(options) == 1 else "")
                + "</span>"
            )
            rows.append(widgets.HBox([dropdown, hint]))
        self.rows.children = rows

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """The chosen ``(brevo_attribute, salesforce_field)`` pairs."""
        return [(name, box.value) for name, box in self.dropdowns.items() if box.value != NOT_SYNCED]

    def options_for(self, attribute: str) -> list[str]:
        """The Salesforce field names offered for a Brevo attribute (what its drop-down lists)."""
        return [v for _, v in self.dropdowns[attribute.upper()].options if v != NOT_SYNCED]

    def _b4_changed(self, _change: traitlets.Bunch) -> None:
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

    def _changed(self, _change: traitlets.Bunch) -> None:
        if not self._loading:
            self._check()

    @property
    def sms_mapped(self) -> bool:
        """Whether an SMS attribute (SMS, WHATSAPP, LANDLINE_NUMBER) is mapped."""
        kinds = {str(a["name"]).upper(): brevo_kind(a) for a in self._attributes}
        return any(kinds.get(name) == SMS for name, _ in self.pairs)

    @property
    def sms_optout_field(self) -> str | None:
        """The checkbox chosen for ``smsBlacklisted`` (B8), when it applies: B8 on and an SMS mapped."""
        if not (self.b8.value and self.sms_mapped):
            return None
        return self.sms_optout.value or None

    def _check(self) -> None:
        """Validate the choice; save it when valid, otherwise say why in place."""
        pairs = self.pairs
        self.sms_optout.layout.display = "" if self.b8.value and self.sms_mapped else "none"
        sms_field = self.sms_optout_field
        try:
            checked = validate_mapping(
                pairs, self._describe, self._attributes, booleans_and_picklists=self.b4.value
            )
            if self.b8.value:  # B8's checkboxes must not be mapped to attributes as well
                self._check_unsubscribes(checked, sms_field)
        except MappingError as exc:
            self.fail(friendly_error(exc))
            return
        region = self.default_region
        if self.editing:  # stored with the other changes, after the save step's preview
            self.succeed(
                f"{len(checked.pairs)} attribute(s) mapped: {', '.join(f'{a} ← {f}' for a, f in checked.pairs)}. "
                "Saved with the other changes (see the preview in the last step)."
            )
            return
        mapping = self.attempt(
            lambda: self.tk.set_mapping(
                self.integration, pairs, default_region=region, booleans_and_picklists=self.b4.value
            )
        )
        saved = (
            None
            if mapping is None
            else self.attempt(
                lambda: self.tk.store.update_integration(
                    self.integration, sync_unsubscribes=self.b8.value, sms_optout_field=sms_field
                )
            )
        )
        if mapping is not None and saved is not None:
            stored = self.tk.store.get_integration(self.integration).default_region
            if stored and stored != region:  # "none" keeps the region saved before (set_mapping's default)
                self._loading = True
                try:
                    self._set_region(stored)
                finally:
                    self._loading = False
                region = stored
            shown = ", ".join(f"{a} ← {f}" for a, f in mapping.pairs)
            where = f"{region_name(region)} ({region})" if region else "none"
            unsubscribes = "not synced"
            if self.b8.value:
                unsubscribes = "synced (B8)" + (f", SMS ⟷ {sms_field}" if sms_field else "")
            self.succeed(
                f"{len(mapping.pairs)} attribute(s) mapped: {shown}. Phone region: {where}. "
                f"Unsubscribes: {unsubscribes}."
            )

    def _check_unsubscribes(self, mapping: Mapping, sms_field: str | None) -> None:
        """Raise :class:`MappingError` when B8 cannot sync as chosen (a checkbox mapped already)."""
        mapping.with_unsubscribes(sms_field)
