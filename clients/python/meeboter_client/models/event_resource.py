from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from dateutil.parser import isoparse
from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.event_resource_data import EventResourceData





T = TypeVar("T", bound="EventResource")



@_attrs_define
class EventResource:
    """ 
        Attributes:
            at (datetime.datetime):
            data (EventResourceData):
            id (str):
            type_ (str):
     """

    at: datetime.datetime
    data: 'EventResourceData'
    id: str
    type_: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        from ..models.event_resource_data import EventResourceData
        at = self.at.isoformat()

        data = self.data.to_dict()

        id = self.id

        type_ = self.type_


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "at": at,
            "data": data,
            "id": id,
            "type": type_,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.event_resource_data import EventResourceData
        d = dict(src_dict)
        at = isoparse(d.pop("at"))




        data = EventResourceData.from_dict(d.pop("data"))




        id = d.pop("id")

        type_ = d.pop("type")

        event_resource = cls(
            at=at,
            data=data,
            id=id,
            type_=type_,
        )


        event_resource.additional_properties = d
        return event_resource

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
