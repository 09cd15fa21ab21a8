from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from dateutil.parser import isoparse
from typing import cast
from typing import cast, Union
from typing import Union
import datetime

if TYPE_CHECKING:
  from ..models.attempt_resource import AttemptResource





T = TypeVar("T", bound="DeliveryResource")



@_attrs_define
class DeliveryResource:
    """ 
        Attributes:
            attempts (list['AttemptResource']): Every attempt so far (redeliveries included), oldest first.
            created_at (datetime.datetime):
            event_type (str):
            id (str): Also the `webhook-id` header: stable across retries.
            status (str): `pending`, `delivered` or `failed` (gave up after 24 h).
            bot_id (Union[None, Unset, str]):
            delivered_at (Union[None, Unset, datetime.datetime]):
            next_attempt_at (Union[None, Unset, datetime.datetime]): When the next attempt is due; only while `pending`.
     """

    attempts: list['AttemptResource']
    created_at: datetime.datetime
    event_type: str
    id: str
    status: str
    bot_id: Union[None, Unset, str] = UNSET
    delivered_at: Union[None, Unset, datetime.datetime] = UNSET
    next_attempt_at: Union[None, Unset, datetime.datetime] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        from ..models.attempt_resource import AttemptResource
        attempts = []
        for attempts_item_data in self.attempts:
            attempts_item = attempts_item_data.to_dict()
            attempts.append(attempts_item)



        created_at = self.created_at.isoformat()

        event_type = self.event_type

        id = self.id

        status = self.status

        bot_id: Union[None, Unset, str]
        if isinstance(self.bot_id, Unset):
            bot_id = UNSET
        else:
            bot_id = self.bot_id

        delivered_at: Union[None, Unset, str]
        if isinstance(self.delivered_at, Unset):
            delivered_at = UNSET
        elif isinstance(self.delivered_at, datetime.datetime):
            delivered_at = self.delivered_at.isoformat()
        else:
            delivered_at = self.delivered_at

        next_attempt_at: Union[None, Unset, str]
        if isinstance(self.next_attempt_at, Unset):
            next_attempt_at = UNSET
        elif isinstance(self.next_attempt_at, datetime.datetime):
            next_attempt_at = self.next_attempt_at.isoformat()
        else:
            next_attempt_at = self.next_attempt_at


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "attempts": attempts,
            "createdAt": created_at,
            "eventType": event_type,
            "id": id,
            "status": status,
        })
        if bot_id is not UNSET:
            field_dict["botId"] = bot_id
        if delivered_at is not UNSET:
            field_dict["deliveredAt"] = delivered_at
        if next_attempt_at is not UNSET:
            field_dict["nextAttemptAt"] = next_attempt_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.attempt_resource import AttemptResource
        d = dict(src_dict)
        attempts = []
        _attempts = d.pop("attempts")
        for attempts_item_data in (_attempts):
            attempts_item = AttemptResource.from_dict(attempts_item_data)



            attempts.append(attempts_item)


        created_at = isoparse(d.pop("createdAt"))




        event_type = d.pop("eventType")

        id = d.pop("id")

        status = d.pop("status")

        def _parse_bot_id(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        bot_id = _parse_bot_id(d.pop("botId", UNSET))


        def _parse_delivered_at(data: object) -> Union[None, Unset, datetime.datetime]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                delivered_at_type_0 = isoparse(data)



                return delivered_at_type_0
            except: # noqa: E722
                pass
            return cast(Union[None, Unset, datetime.datetime], data)

        delivered_at = _parse_delivered_at(d.pop("deliveredAt", UNSET))


        def _parse_next_attempt_at(data: object) -> Union[None, Unset, datetime.datetime]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                next_attempt_at_type_0 = isoparse(data)



                return next_attempt_at_type_0
            except: # noqa: E722
                pass
            return cast(Union[None, Unset, datetime.datetime], data)

        next_attempt_at = _parse_next_attempt_at(d.pop("nextAttemptAt", UNSET))


        delivery_resource = cls(
            attempts=attempts,
            created_at=created_at,
            event_type=event_type,
            id=id,
            status=status,
            bot_id=bot_id,
            delivered_at=delivered_at,
            next_attempt_at=next_attempt_at,
        )


        delivery_resource.additional_properties = d
        return delivery_resource

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
