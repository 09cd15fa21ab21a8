from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
from typing import cast, Union
from typing import Union

if TYPE_CHECKING:
  from ..models.error_info_details_type_0 import ErrorInfoDetailsType0





T = TypeVar("T", bound="ErrorInfo")



@_attrs_define
class ErrorInfo:
    """ The error itself. `code` is stable and machine-readable; `message` is for people;
    `details` carries structure such as per-field validation errors.

        Attributes:
            code (str):  Example: validation_failed.
            message (str):
            details (Union['ErrorInfoDetailsType0', None, Unset]):
     """

    code: str
    message: str
    details: Union['ErrorInfoDetailsType0', None, Unset] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        from ..models.error_info_details_type_0 import ErrorInfoDetailsType0
        code = self.code

        message = self.message

        details: Union[None, Unset, dict[str, Any]]
        if isinstance(self.details, Unset):
            details = UNSET
        elif isinstance(self.details, ErrorInfoDetailsType0):
            details = self.details.to_dict()
        else:
            details = self.details


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "code": code,
            "message": message,
        })
        if details is not UNSET:
            field_dict["details"] = details

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.error_info_details_type_0 import ErrorInfoDetailsType0
        d = dict(src_dict)
        code = d.pop("code")

        message = d.pop("message")

        def _parse_details(data: object) -> Union['ErrorInfoDetailsType0', None, Unset]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                details_type_0 = ErrorInfoDetailsType0.from_dict(data)



                return details_type_0
            except: # noqa: E722
                pass
            return cast(Union['ErrorInfoDetailsType0', None, Unset], data)

        details = _parse_details(d.pop("details", UNSET))


        error_info = cls(
            code=code,
            message=message,
            details=details,
        )


        error_info.additional_properties = d
        return error_info

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
