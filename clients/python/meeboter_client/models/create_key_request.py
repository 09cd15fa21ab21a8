from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.role_wire import RoleWire
from ..types import UNSET, Unset
from dateutil.parser import isoparse
from typing import cast
from typing import cast, Union
from typing import Union
import datetime






T = TypeVar("T", bound="CreateKeyRequest")



@_attrs_define
class CreateKeyRequest:
    """ 
        Example:
            {'expiresAt': '2027-01-01T00:00:00Z', 'name': 'ci', 'role': 'member'}

        Attributes:
            name (str): A label, 1–100 characters, not blank, no control characters.
            role (RoleWire): API key role.
            account_id (Union[None, Unset, str]): Account the key belongs to (admins only; default: the caller's account).
            expires_at (Union[None, Unset, datetime.datetime]): RFC 3339, in the future; the key stops working at this time.
     """

    name: str
    role: RoleWire
    account_id: Union[None, Unset, str] = UNSET
    expires_at: Union[None, Unset, datetime.datetime] = UNSET


    def to_dict(self) -> dict[str, Any]:
        name = self.name

        role = self.role.value

        account_id: Union[None, Unset, str]
        if isinstance(self.account_id, Unset):
            account_id = UNSET
        else:
            account_id = self.account_id

        expires_at: Union[None, Unset, str]
        if isinstance(self.expires_at, Unset):
            expires_at = UNSET
        elif isinstance(self.expires_at, datetime.datetime):
            expires_at = self.expires_at.isoformat()
        else:
            expires_at = self.expires_at


        field_dict: dict[str, Any] = {}
        field_dict.update({
            "name": name,
            "role": role,
        })
        if account_id is not UNSET:
            field_dict["accountId"] = account_id
        if expires_at is not UNSET:
            field_dict["expiresAt"] = expires_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        role = RoleWire(d.pop("role"))




        def _parse_account_id(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        account_id = _parse_account_id(d.pop("accountId", UNSET))


        def _parse_expires_at(data: object) -> Union[None, Unset, datetime.datetime]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                expires_at_type_0 = isoparse(data)



                return expires_at_type_0
            except: # noqa: E722
                pass
            return cast(Union[None, Unset, datetime.datetime], data)

        expires_at = _parse_expires_at(d.pop("expiresAt", UNSET))


        create_key_request = cls(
            name=name,
            role=role,
            account_id=account_id,
            expires_at=expires_at,
        )

        return create_key_request

