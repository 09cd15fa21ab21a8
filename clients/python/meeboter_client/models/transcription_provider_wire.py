from enum import Enum

class TranscriptionProviderWire(str, Enum):
    DEEPGRAM = "deepgram"
    MEETING_CAPTIONS = "meeting_captions"
    OPENAI = "openai"

    def __str__(self) -> str:
        return str(self.value)
