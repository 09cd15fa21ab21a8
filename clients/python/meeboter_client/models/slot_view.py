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






T = TypeVar("T", bound="SlotView")



@_attrs_define
class SlotView:
    """ One Coolify pool slot.

        Attributes:
            image (str):
            name (str):
            recovery_attempts (int):
            status (str): `CREATING`, `IDLE`, `DEPLOYING`, `BUSY`, `STOPPING` (released, not yet confirmed stopped
                with no deployment in flight) or `ERROR`.
            status_at (datetime.datetime):
            application_uuid (Union[None, Unset, str]):
            bot_id (Union[None, Unset, str]):
            error (Union[None, Unset, str]):
            last_used_at (Union[None, Unset, datetime.datetime]):
     """

    image: str
    name: str
    recovery_attempts: int
    status: str
    status_at: datetime.datetime
    application_uuid: Union[None, Unset, str] = UNSET
    bot_id: Union[None, Unset, str] = UNSET
    error: Union[None, Unset, str] = UNSET
    last_used_at: Union[None, Unset, datetime.datetime] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        image = self.image

        name = self.name

        recovery_attempts = self.recovery_attempts

        status = self.status

        status_at = self.status_at.isoformat()

        application_uuid: Union[None, Unset, str]
        if isinstance(self.application_uuid, Unset):
            application_uuid = UNSET
        else:
            application_uuid = self.application_uuid

        bot_id: Union[None, Unset, str]
        if isinstance(self.bot_id, Unset):
            bot_id = UNSET
        else:
            bot_id = self.bot_id

        error: Union[None, Unset, str]
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        last_used_at: Union[None, Unset, str]
        if isinstance(self.last_used_at, Unset):
            last_used_at = UNSET
        elif isinstance(self.last_used_at, datetime.datetime):
            last_used_at = self.last_used_at.isoformat()
        else:
            last_used_at = self.last_used_at


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "image": image,
            "name": name,
            "recoveryAttempts": recovery_attempts,
            "status": status,
            "statusAt": status_at,
        })
        if application_uuid is not UNSET:
            field_dict["applicationUuid"] = application_uuid
        if bot_id is not UNSET:
            field_dict["botId"] = bot_id
        if error is not UNSET:
            field_dict["error"] = error
        if last_used_at is not UNSET:
            field_dict["lastUsedAt"] = last_used_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        image = d.pop("image")

        name = d.pop("name")

        recovery_attempts = d.pop("recoveryAttempts")

        status = d.pop("status")

        status_at = isoparse(d.pop("statusAt"))




        def _parse_application_uuid(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        application_uuid = _parse_application_uuid(d.pop("applicationUuid", UNSET))


        def _parse_bot_id(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        bot_id = _parse_bot_id(d.pop("botId", UNSET))


        def _parse_error(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        error = _parse_error(d.pop("error", UNSET))


        def _parse_last_used_at(data: object) -> Union[None, Unset, datetime.datetime]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                last_used_at_type_0 = isoparse(data)



                return last_used_at_type_0
            except: # noqa: E722
                pass
            return cast(Union[None, Unset, datetime.datetime], data)

        last_used_at = _parse_last_used_at(d.pop("lastUsedAt", UNSET))


        slot_view = cls(
            image=image,
            name=name,
            recovery_attempts=recovery_attempts,
            status=status,
            status_at=status_at,
            application_uuid=application_uuid,
            bot_id=bot_id,
            error=error,
            last_used_at=last_used_at,
        )


        slot_view.additional_properties = d
        return slot_view

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
