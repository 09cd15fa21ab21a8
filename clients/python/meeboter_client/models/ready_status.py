from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.problem import Problem





T = TypeVar("T", bound="ReadyStatus")



@_attrs_define
class ReadyStatus:
    """ Readiness, with what this machine's start-up checks found.

        Attributes:
            problems (list['Problem']): Missing tools of the local platform, storage that does not take a write.
            status (str): `ok`, or `degraded` when `problems` lists something that will make bots or recordings
                fail (the API itself works). Example: ok.
     """

    problems: list['Problem']
    status: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        from ..models.problem import Problem
        problems = []
        for problems_item_data in self.problems:
            problems_item = problems_item_data.to_dict()
            problems.append(problems_item)



        status = self.status


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "problems": problems,
            "status": status,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.problem import Problem
        d = dict(src_dict)
        problems = []
        _problems = d.pop("problems")
        for problems_item_data in (_problems):
            problems_item = Problem.from_dict(problems_item_data)



            problems.append(problems_item)


        status = d.pop("status")

        ready_status = cls(
            problems=problems,
            status=status,
        )


        ready_status.additional_properties = d
        return ready_status

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
