"""Typed tool contracts, their executor, and the sample bank's tools.

    from loopwright.tools import execute_tool, registered_tools, tool
"""

from loopwright.tools.contract import ToolContext, ToolSpec, get_tool, registered_tools, tool
from loopwright.tools.executor import ToolArgumentsError, ToolResult, execute_tool

__all__ = ["ToolArgumentsError", "ToolContext", "ToolResult", "ToolSpec", "execute_tool", "get_tool", "registered_tools", "tool"]
