from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="CreateAccountRequest")



@_attrs_define
class CreateAccountRequest:
    """ 
        Example:
            {'name': 'Acme'}

        Attributes:
            name (str): Unique name, 1–100 characters, not blank, no control characters.
     """

    name: str


    def to_dict(self) -> dict[str, Any]:
        name = self.name


        field_dict: dict[str, Any] = {}
        field_dict.update({
            "name": name,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        create_account_request = cls(
            name=name,
        )

        return create_account_request

