"""Typed tool contracts and their executor; tools themselves come from plugins (`loopwright.tools` entry points).

    from loopwright.tools import execute_tool, registered_tools, tool
"""

from loopwright.tools.contract import ToolContext, ToolSpec, get_tool, registered_tools, tool
from loopwright.tools.executor import ToolArgumentsError, ToolResult, execute_tool

__all__ = ["ToolArgumentsError", "ToolContext", "ToolResult", "ToolSpec", "execute_tool", "get_tool", "registered_tools", "tool"]
