"""Drives Meeboter's /mcp endpoint with the official MCP Python SDK (PyPI `mcp`), as an
assistant would: initialize, list the tools, create a bot for the server's test meeting, get
it, then call a tool with a bad id and an unknown tool. Prints one JSON object for the Rust
test to check. Usage: mcp_client.py <mcp url> <api key> <meeting url>
"""

import asyncio
import json
import sys

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


def tool_result(result):
    texts = [c.text for c in result.content if getattr(c, "type", None) == "text"]
    return {
        "isError": bool(result.is_error),
        "text": "\n".join(texts),
        "structured": result.structured_content,
    }


async def main(url, key, meeting):
    out = {}
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {key}"}) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                out["server"] = init.server_info.name
                out["protocol"] = init.protocol_version
                tools = await session.list_tools()
                out["tools"] = sorted(t.name for t in tools.tools)
                out["readOnly"] = sorted(
                    t.name for t in tools.tools if t.annotations and t.annotations.read_only_hint
                )
                created = await session.call_tool(
                    "create_bot", {"meetingUrl": meeting, "botName": "MCP bot", "recordingMode": "none"}
                )
                out["create"] = tool_result(created)
                bot_id = (created.structured_content or {}).get("id")
                got = await session.call_tool("get_bot", {"botId": bot_id})
                out["get"] = tool_result(got)
                left = await session.call_tool("leave_meeting", {"botId": bot_id})
                out["leave"] = tool_result(left)
                missing = await session.call_tool("get_bot", {"botId": "0190aaaa-0000-7000-8000-000000000000"})
                out["missing"] = tool_result(missing)
                invalid = await session.call_tool("create_bot", {"meetingUrl": "https://example.com/not-a-meeting"})
                out["invalid"] = tool_result(invalid)
                try:
                    await session.call_tool("no_such_tool", {})
                    out["unknownTool"] = "accepted"
                except Exception as e:  # the SDK raises on a JSON-RPC error
                    out["unknownTool"] = str(e)
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
