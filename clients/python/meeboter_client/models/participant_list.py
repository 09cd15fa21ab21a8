from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.participant_resource import ParticipantResource





T = TypeVar("T", bound="ParticipantList")



@_attrs_define
class ParticipantList:
    """ 
        Attributes:
            participants (list['ParticipantResource']):
     """

    participants: list['ParticipantResource']
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        from ..models.participant_resource import ParticipantResource
        participants = []
        for participants_item_data in self.participants:
            participants_item = participants_item_data.to_dict()
            participants.append(participants_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "participants": participants,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.participant_resource import ParticipantResource
        d = dict(src_dict)
        participants = []
        _participants = d.pop("participants")
        for participants_item_data in (_participants):
            participants_item = ParticipantResource.from_dict(participants_item_data)



            participants.append(participants_item)


        participant_list = cls(
            participants=participants,
        )


        participant_list.additional_properties = d
        return participant_list

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
