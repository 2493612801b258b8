"""Brevo's official SDK models (``brevo-python`` 5.1.0, a test-only dependency) as a yardstick.

Maps each Brevo call the toolkit makes (method and the path template its client passes to the
funnel) to the pydantic model the official SDK parses that call's answer into, and checks JSON
against it strictly:

* :func:`validation_errors` validates a body with the SDK's own ``parse_obj_as`` (aliases
  honoured) and again in pydantic's strict JSON mode (no ``"5"`` for an int).
* :func:`undeclared_keys` lists every key (recursively, nested models and list items included)
  that is not a declared field of its model *by its wire name* (the alias), and every enum value
  outside the model's ``Literal``. The SDK's models have ``extra="allow"`` and turn Python field
  names into aliases, so validation alone accepts any invented key: this is what makes a check fail.
* :func:`undeclared_read` says whether a key path the toolkit read (``contacts[].attributes.EXT_ID``)
  is declared by the model.
* :class:`ReadRecorder` wraps decoded answers in dict/list proxies that record those key paths.

Free-form maps (a model with no fields and ``extra="allow"``, e.g. a contact's ``attributes``, whose
keys are the account's attribute names) accept any key below them.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
import types
import typing
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pydantic
from brevo.account.types import GetAccountResponse
from brevo.contacts.types import (
    CreateContactResponse,
    CreateFolderResponse,
    CreateListResponse,
    GetAttributesResponse,
    GetContactInfoResponse,
    GetFoldersResponse,
    GetListResponse,
    GetListsResponse,
    ImportContactsResponse,
)
from brevo.core.pydantic_utilities import parse_obj_as
from brevo.core.serialization import get_field_to_alias_mapping
from brevo.process.types import GetProcessResponse
from brevo.senders.types import GetSendersResponse
from brevo.transactional_emails.types import SendTransacEmailResponse
from brevo.types import GetContacts, PostContactInfo
from brevo.webhooks.types import CreateWebhookResponse, GetWebhooksResponse

__all__ = [
    "ENDPOINTS",
    "Endpoint",
    "ReadRecorder",
    "endpoint_of",
    "undeclared_keys",
    "undeclared_read",
    "validation_errors",
]

LIST_ITEM = "[]"

#: Fields 5.1.0's models leave out that another official source declares: the sandbox may send
#: them (as a variant) and the toolkit may read them. (model, wire name) -> the source.
OTHER_SOURCES: dict[tuple[str, str], str] = {
    ("GetProcessResponse", "created_at"): "brevo-python v4 4.0.10 process/types/get_process_response.py",
    ("GetProcessResponse", "completed_at"): "brevo-python v4 4.0.10 process/types/get_process_response.py",
    ("GetProcessResponse", "error"): "brevo-python v4 4.0.10 process/types/get_process_response.py",
}
#: Keys the toolkit may read although no response model has them, and that the sandbox never
#: sends: (model, wire name) -> why.
TOLERATED_READS: dict[tuple[str, str], str] = {
    (model, "ext_id"): "contact_ext_id() falls back to a top-level ext_id (the request models' key: "
    "CreateContactRequest, UpdateContactRequest, batch items) only when attributes.EXT_ID "
    "is missing, as issue 11 asks"
    for model in ("GetContactDetails", "GetContactInfoResponse")
}


@dataclass(frozen=True)
class Endpoint:
    """One Brevo call: its method, the path template the toolkit's client uses, the SDK's model.

    ``model`` is ``None`` when the SDK expects no body (204, or 201 without content);
    ``optional`` when it parses an empty body as ``None`` (``typing.Optional[Model]``).
    ``sdk`` names the SDK method whose parse uses that model.
    """

    method: str
    template: str
    model: type[pydantic.BaseModel] | None
    sdk: str
    used_by_toolkit: bool = True
    optional: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.template

    @property
    def label(self) -> str:
        return f"{self.method} {self.template}"

    def matches(self, method: str, path: str) -> bool:
        pattern = re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(self.template))
        return method.upper() == self.method and re.fullmatch(pattern, path) is not None


# Every call of toolkit/brevo/*.py (the funnel's callers) with the model of brevo-python 5.1.0's
# raw client for that operation (brevo/<group>/raw_client.py, `construct_type(type_=...)`).
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/contacts", GetContacts, "contacts.get_contacts"),
    Endpoint(
        "POST", "/contacts", CreateContactResponse, "contacts.create_contact", optional=True
    ),  # 201 or 204
    Endpoint("POST", "/contacts/batch", None, "contacts.update_batch_contacts"),
    Endpoint("POST", "/contacts/import", ImportContactsResponse, "contacts.import_contacts"),
    Endpoint("GET", "/contacts/attributes", GetAttributesResponse, "contacts.get_attributes"),
    Endpoint("GET", "/contacts/lists", GetListsResponse, "contacts.get_lists"),
    Endpoint("POST", "/contacts/lists", CreateListResponse, "contacts.create_list"),
    Endpoint("GET", "/contacts/folders", GetFoldersResponse, "contacts.get_folders"),
    Endpoint("POST", "/contacts/folders", CreateFolderResponse, "contacts.create_folder"),
    Endpoint("GET", "/contacts/lists/{list_id}/contacts", GetContacts, "contacts.get_contacts_from_list"),
    Endpoint(
        "POST",
        "/contacts/lists/{list_id}/contacts/add",
        PostContactInfo,
        "contacts.add_contact_to_list",
    ),
    Endpoint(
        "POST",
        "/contacts/lists/{list_id}/contacts/remove",
        PostContactInfo,
        "contacts.remove_contact_from_list",
    ),
    Endpoint("GET", "/contacts/lists/{list_id}", GetListResponse, "contacts.get_list", used_by_toolkit=False),
    Endpoint("POST", "/contacts/attributes/{category}/{name}", None, "contacts.create_attribute"),
    Endpoint("GET", "/contacts/{identifier}", GetContactInfoResponse, "contacts.get_contact_info"),
    Endpoint("PUT", "/contacts/{identifier}", None, "contacts.update_contact"),
    Endpoint("DELETE", "/contacts/{identifier}", None, "contacts.delete_contact"),
    Endpoint("GET", "/processes/{process_id}", GetProcessResponse, "process.get_process"),
    Endpoint("POST", "/smtp/email", SendTransacEmailResponse, "transactional_emails.send_transac_email"),
    Endpoint("GET", "/account", GetAccountResponse, "account.get_account"),
    Endpoint("GET", "/senders", GetSendersResponse, "senders.get_senders"),
    Endpoint("POST", "/webhooks", CreateWebhookResponse, "webhooks.create_webhook"),
    Endpoint("GET", "/webhooks", GetWebhooksResponse, "webhooks.get_webhooks"),
    Endpoint("DELETE", "/webhooks/{webhook_id}", None, "webhooks.delete_webhook"),
)
BY_KEY = {e.key: e for e in ENDPOINTS}


def endpoint_of(method: str, path: str) -> Endpoint | None:
    """The endpoint a request went to (``path`` relative to ``/v3``); literal segments win."""
    candidates = [e for e in ENDPOINTS if e.matches(method, path)]
    candidates.sort(key=lambda e: e.template.count("{"))
    return candidates[0] if candidates else None


# -- the models' declared wire keys -----------------------------------------------------------------


def _is_model(tp: Any) -> bool:
    return inspect.isclass(tp) and issubclass(tp, pydantic.BaseModel)


def wire_fields(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    """Wire key (pydantic alias, else Fern's FieldMetadata alias, else the name) -> annotation."""
    metadata_aliases = get_field_to_alias_mapping(model)
    return {
        (field.alias or metadata_aliases.get(name) or name): field.annotation
        for name, field in model.model_fields.items()
    }


def is_open_map(model: type[pydantic.BaseModel]) -> bool:
    """A model with no declared field that allows extras: a free-form map (contact attributes)."""
    return not model.model_fields and model.model_config.get("extra") == "allow"


def _strip(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _union_args(tp: Any) -> tuple[Any, ...] | None:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return tuple(_strip(a) for a in typing.get_args(tp))
    return None


def _literals(args: Iterable[Any]) -> set[Any]:
    values: set[Any] = set()
    for arg in args:
        if typing.get_origin(arg) is typing.Literal:
            values.update(typing.get_args(arg))
    return values


def _where(path: tuple[str, ...]) -> str:
    text = ""
    for part in path:
        text += part if part == LIST_ITEM else (f".{part}" if text else part)
    return text or "(body)"


def undeclared_keys(tp: Any, value: Any, path: tuple[str, ...] = ()) -> list[str]:
    """Key paths of ``value`` its model does not declare (by wire name), and enum values outside it.

    Example: ``["contacts[].ext_id", "info.import.invalid_sms"]``.
    """
    tp = _strip(tp)
    if tp is Any or tp is None or value is None:
        return []
    args = _union_args(tp)
    if args is not None:
        literals = _literals(args)
        if literals and not isinstance(value, (dict, list)):
            return (
                [] if value in literals else [f"{_where(path)} = {value!r} (not one of {sorted(literals)})"]
            )
        for arg in args:  # the first alternative that fits the value's JSON kind
            if arg is type(None) or arg is Any:
                continue
            origin = typing.get_origin(arg) or arg
            if (isinstance(value, dict) and (_is_model(arg) or origin is dict)) or (
                isinstance(value, list) and origin is list
            ):
                return undeclared_keys(arg, value, path)
        return []
    if _is_model(tp):
        if not isinstance(value, dict) or is_open_map(tp):
            return []
        fields = wire_fields(tp)
        found: list[str] = []
        for key, item in value.items():
            if (tp.__name__, key) in OTHER_SOURCES:
                continue
            if key not in fields:
                found.append(_where((*path, key)))
            else:
                found += undeclared_keys(fields[key], item, (*path, key))
        return found
    origin = typing.get_origin(tp)
    if origin is list and isinstance(value, list):
        [item_type] = typing.get_args(tp) or (Any,)
        found = []
        for item in value:
            found += [p for p in undeclared_keys(item_type, item, (*path, LIST_ITEM)) if p not in found]
        return found
    if origin is dict and isinstance(value, dict):
        item_type = (typing.get_args(tp) or (Any, Any))[1]
        return [p for key, item in value.items() for p in undeclared_keys(item_type, item, (*path, str(key)))]
    if typing.get_origin(tp) is typing.Literal and value not in typing.get_args(tp):
        return [f"{_where(path)} = {value!r} (not one of {sorted(typing.get_args(tp))})"]
    return []


def undeclared_read(tp: Any, path: tuple[str, ...]) -> str | None:
    """``None`` when the model declares the key path ``path``, else why it does not."""
    tp = _strip(tp)
    for position, part in enumerate(path):
        args = _union_args(tp)
        if args is not None:  # the alternative that can hold this step (model, dict or list)
            wanted = [
                a
                for a in args
                if (part == LIST_ITEM and (typing.get_origin(a) is list))
                or (part != LIST_ITEM and (_is_model(a) or typing.get_origin(a) is dict))
            ]
            if any(a is Any for a in args) and not wanted:
                return None
            if not wanted:
                return f"{_where(path[:position])} holds no {'list' if part == LIST_ITEM else 'object'}"
            tp = wanted[0]
        if tp is Any:
            return None
        origin = typing.get_origin(tp)
        if part == LIST_ITEM:
            if origin is not list:
                return f"{_where(path[:position])} is not a list in the SDK model"
            tp = _strip((typing.get_args(tp) or (Any,))[0])
        elif _is_model(tp):
            if is_open_map(tp):
                return None  # free-form keys (attribute names)
            fields = wire_fields(tp)
            if (tp.__name__, part) in OTHER_SOURCES or (tp.__name__, part) in TOLERATED_READS:
                return None
            if part not in fields:
                return f"{tp.__name__} declares no {part!r}"
            tp = _strip(fields[part])
        elif origin is dict:
            tp = _strip((typing.get_args(tp) or (Any, Any))[1])
        else:
            return f"{_where(path[:position])} is not an object in the SDK model"
    return None


def validation_errors(
    model: type[pydantic.BaseModel] | None, raw: bytes, *, optional: bool = False
) -> list[str]:
    """Why ``raw`` (a response body) does not validate against ``model``: lax (the SDK's own
    ``parse_obj_as``) and strict (pydantic strict JSON mode); ``[]`` when it does.

    ``optional``: an empty body stands for ``None`` (the SDK's ``Optional[model]``).
    """
    if model is None:
        return [] if not raw.strip() else [f"the SDK expects no body, got {raw[:200]!r}"]
    if not raw.strip():
        return [] if optional else [f"empty body, the SDK expects a {model.__name__}"]
    problems: list[str] = []
    try:
        parse_obj_as(model, json.loads(raw))
    except pydantic.ValidationError as exc:
        problems += [f"{_where(tuple(map(str, e['loc'])))}: {e['msg']}" for e in exc.errors()]
    try:
        pydantic.TypeAdapter(model).validate_json(raw, strict=True)
    except pydantic.ValidationError as exc:
        problems += [
            f"strict {_where(tuple(map(str, e['loc'])))}: {e['msg']}"
            for e in exc.errors()
            if f"{_where(tuple(map(str, e['loc'])))}: {e['msg']}" not in problems
        ]
    return problems


# -- recording what the toolkit reads --------------------------------------------------------------


class ReadRecorder:
    """Wraps decoded answers so that every key the code reads is noted with its endpoint.

    ``reads[(method, template)]`` holds key paths read with ``[]``, ``.get``, ``in``, ``pop`` or
    ``setdefault``; ``iterated`` the keys met through ``items()``, ``keys()`` or ``values()``.
    ``__iter__`` is left alone so that ``dict(d)`` and ``{**d}`` copy without counting as reads.
    """

    def __init__(self) -> None:
        self.reads: dict[tuple[str, str], set[tuple[str, ...]]] = defaultdict(set)
        self.iterated: dict[tuple[str, str], set[tuple[str, ...]]] = defaultdict(set)
        self.answers: dict[tuple[str, str], int] = defaultdict(int)
        self.enabled = True

    def wrap(self, endpoint: tuple[str, str], value: Any, path: tuple[str, ...] = ()) -> Any:
        if path == ():
            self.answers[endpoint] += 1
        if isinstance(value, dict):
            return RecordingDict(
                self, endpoint, path, {k: self.wrap(endpoint, v, (*path, str(k))) for k, v in value.items()}
            )
        if isinstance(value, list):
            return RecordingList(self.wrap(endpoint, v, (*path, LIST_ITEM)) for v in value)
        return value


class RecordingDict(dict[Any, Any]):
    """A dict that tells its recorder which keys are read."""

    def __init__(
        self, recorder: ReadRecorder, endpoint: tuple[str, str], path: tuple[str, ...], items: dict[Any, Any]
    ) -> None:
        super().__init__(items)
        self._recorder, self._endpoint, self._path = recorder, endpoint, path

    def _read(self, key: Any) -> None:
        self._recorder.reads[self._endpoint].add((*self._path, str(key)))

    def _walk(self) -> None:
        for key in dict.keys(self):
            self._recorder.iterated[self._endpoint].add((*self._path, str(key)))

    def __getitem__(self, key: Any) -> Any:
        self._read(key)
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        self._read(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self._read(key)
        return super().__contains__(key)

    def pop(self, key: Any, *default: Any) -> Any:
        self._read(key)
        return super().pop(key, *default)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        self._read(key)
        return super().setdefault(key, default)

    def items(self) -> Any:
        self._walk()
        return super().items()

    def values(self) -> Any:
        self._walk()
        return super().values()

    def keys(self) -> Any:
        self._walk()
        return super().keys()

    def __copy__(self) -> RecordingDict:
        return RecordingDict(self._recorder, self._endpoint, self._path, dict.copy(self))

    def __deepcopy__(self, memo: dict[int, Any]) -> RecordingDict:
        return RecordingDict(
            self._recorder,
            self._endpoint,
            self._path,
            {k: copy.deepcopy(v, memo) for k, v in dict.items(self)},
        )

    def __reduce__(self) -> Any:  # pickles as the plain dict it stands for
        return (dict, (dict(dict.items(self)),))


class RecordingList(list[Any]):
    """A list of recorded items (list reads carry no key)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> RecordingList:
        return RecordingList(copy.deepcopy(v, memo) for v in list.__iter__(self))
