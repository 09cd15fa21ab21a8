from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.webhook_event_wire import WebhookEventWire
from ..types import UNSET, Unset
from typing import cast
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="CreateEndpointRequest")



@_attrs_define
class CreateEndpointRequest:
    """ 
        Example:
            {'events': ['bot.status_changed', 'bot.recording_ready'], 'url': 'https://example.com/meeboter-hook'}

        Attributes:
            url (str): http(s) URL. Unless the server sets `WEBHOOK_ALLOW_PRIVATE=true`, the host must be
                public: IP literals and every address a name resolves to are checked (loopback,
                private, link-local, reserved, NAT64/IPv4-mapped forms of those → 422 `private_target`),
                and a name that does not resolve is refused (422 `unresolvable_host`).
            events (Union[Unset, list[WebhookEventWire]]): Event types to receive; empty or absent = all
                (`bot.status_changed`,
                `bot.participant_joined`, `bot.participant_left`, `bot.chat_received`, `bot.recording_ready`).
            secret (Union[None, Unset, str]): `whsec_<base64>` of 24 to 64 bytes (the schema states 25 to 63, which are
                always
                accepted); generated when absent.
     """

    url: str
    events: Union[Unset, list[WebhookEventWire]] = UNSET
    secret: Union[None, Unset, str] = UNSET


    def to_dict(self) -> dict[str, Any]:
        url = self.url

        events: Union[Unset, list[str]] = UNSET
        if not isinstance(self.events, Unset):
            events = []
            for events_item_data in self.events:
                events_item = events_item_data.value
                events.append(events_item)



        secret: Union[None, Unset, str]
        if isinstance(self.secret, Unset):
            secret = UNSET
        else:
            secret = self.secret


        field_dict: dict[str, Any] = {}
        field_dict.update({
            "url": url,
        })
        if events is not UNSET:
            field_dict["events"] = events
        if secret is not UNSET:
            field_dict["secret"] = secret

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        url = d.pop("url")

        events = []
        _events = d.pop("events", UNSET)
        for events_item_data in (_events or []):
            events_item = WebhookEventWire(events_item_data)



            events.append(events_item)


        def _parse_secret(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        secret = _parse_secret(d.pop("secret", UNSET))


        create_endpoint_request = cls(
            url=url,
            events=events,
            secret=secret,
        )

        return create_endpoint_request

