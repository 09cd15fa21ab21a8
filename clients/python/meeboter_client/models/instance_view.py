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






T = TypeVar("T", bound="InstanceView")



@_attrs_define
class InstanceView:
    """ A deployed, live bot and where it runs.

        Attributes:
            bot_id (str):
            platform (str):
            status (str):
            deployed_at (Union[None, Unset, datetime.datetime]):
            identifier (Union[None, Unset, str]): Process id, ECS task ARN or Coolify application.
            last_heartbeat_at (Union[None, Unset, datetime.datetime]):
     """

    bot_id: str
    platform: str
    status: str
    deployed_at: Union[None, Unset, datetime.datetime] = UNSET
    identifier: Union[None, Unset, str] = UNSET
    last_heartbeat_at: Union[None, Unset, datetime.datetime] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        bot_id = self.bot_id

        platform = self.platform

        status = self.status

        deployed_at: Union[None, Unset, str]
        if isinstance(self.deployed_at, Unset):
            deployed_at = UNSET
        elif isinstance(self.deployed_at, datetime.datetime):
            deployed_at = self.deployed_at.isoformat()
        else:
            deployed_at = self.deployed_at

        identifier: Union[None, Unset, str]
        if isinstance(self.identifier, Unset):
            identifier = UNSET
        else:
            identifier = self.identifier

        last_heartbeat_at: Union[None, Unset, str]
        if isinstance(self.last_heartbeat_at, Unset):
            last_heartbeat_at = UNSET
        elif isinstance(self.last_heartbeat_at, datetime.datetime):
            last_heartbeat_at = self.last_heartbeat_at.isoformat()
        else:
            last_heartbeat_at = self.last_heartbeat_at


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "botId": bot_id,
            "platform": platform,
            "status": status,
        })
        if deployed_at is not UNSET:
            field_dict["deployedAt"] = deployed_at
        if identifier is not UNSET:
            field_dict["identifier"] = identifier
        if last_heartbeat_at is not UNSET:
            field_dict["lastHeartbeatAt"] = last_heartbeat_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        bot_id = d.pop("botId")

        platform = d.pop("platform")

        status = d.pop("status")

        def _parse_deployed_at(data: object) -> Union[None, Unset, datetime.datetime]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                deployed_at_type_0 = isoparse(data)



                return deployed_at_type_0
            except: # noqa: E722
                pass
            return cast(Union[None, Unset, datetime.datetime], data)

        deployed_at = _parse_deployed_at(d.pop("deployedAt", UNSET))


        def _parse_identifier(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        identifier = _parse_identifier(d.pop("identifier", UNSET))


        def _parse_last_heartbeat_at(data: object) -> Union[None, Unset, datetime.datetime]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                last_heartbeat_at_type_0 = isoparse(data)



                return last_heartbeat_at_type_0
            except: # noqa: E722
                pass
            return cast(Union[None, Unset, datetime.datetime], data)

        last_heartbeat_at = _parse_last_heartbeat_at(d.pop("lastHeartbeatAt", UNSET))


        instance_view = cls(
            bot_id=bot_id,
            platform=platform,
            status=status,
            deployed_at=deployed_at,
            identifier=identifier,
            last_heartbeat_at=last_heartbeat_at,
        )


        instance_view.additional_properties = d
        return instance_view

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
