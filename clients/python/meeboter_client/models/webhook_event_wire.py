from enum import Enum

class WebhookEventWire(str, Enum):
    BOT_CHAT_RECEIVED = "bot.chat_received"
    BOT_PARTICIPANT_JOINED = "bot.participant_joined"
    BOT_PARTICIPANT_LEFT = "bot.participant_left"
    BOT_RECORDING_READY = "bot.recording_ready"
    BOT_STATUS_CHANGED = "bot.status_changed"
    BOT_TRANSCRIPT_DATA = "bot.transcript_data"
    BOT_TRANSCRIPT_FAILED = "bot.transcript_failed"
    BOT_TRANSCRIPT_READY = "bot.transcript_ready"

    def __str__(self) -> str:
        return str(self.value)
