from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.transcription_provider_wire import TranscriptionProviderWire
from ..types import UNSET, Unset
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="TranscriptionRequest")



@_attrs_define
class TranscriptionRequest:
    """ `transcription` of a create request.

        Attributes:
            provider (TranscriptionProviderWire): Transcription provider. Which ones a server accepts depends on its
                configuration
                (`openai` needs `TRANSCRIPTION_OPENAI_URL`, `deepgram` `TRANSCRIPTION_DEEPGRAM_API_KEY`): the others
                are refused with 422 `provider_not_configured` / `provider_not_available`.
            language (Union[None, Unset, str]): Language tag such as `en` or `en-US` (a Whisper language); absent =
                detected.
            realtime (Union[None, Unset, bool]): Transcript while the meeting runs. Always true for `meeting_captions`; not
                yet
                available for the audio providers (their transcript comes after the call).
     """

    provider: TranscriptionProviderWire
    language: Union[None, Unset, str] = UNSET
    realtime: Union[None, Unset, bool] = UNSET


    def to_dict(self) -> dict[str, Any]:
        provider = self.provider.value

        language: Union[None, Unset, str]
        if isinstance(self.language, Unset):
            language = UNSET
        else:
            language = self.language

        realtime: Union[None, Unset, bool]
        if isinstance(self.realtime, Unset):
            realtime = UNSET
        else:
            realtime = self.realtime


        field_dict: dict[str, Any] = {}
        field_dict.update({
            "provider": provider,
        })
        if language is not UNSET:
            field_dict["language"] = language
        if realtime is not UNSET:
            field_dict["realtime"] = realtime

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        provider = TranscriptionProviderWire(d.pop("provider"))




        def _parse_language(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        language = _parse_language(d.pop("language", UNSET))


        def _parse_realtime(data: object) -> Union[None, Unset, bool]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, bool], data)

        realtime = _parse_realtime(d.pop("realtime", UNSET))


        transcription_request = cls(
            provider=provider,
            language=language,
            realtime=realtime,
        )

        return transcription_request

