"""Reference replies in the Qwen text format, shared by tests."""

# The real Qwen3-VL-235B-A22B-Instruct reply of the mobile cookbook (QWEN_PROTOCOL.md §1),
# for a 1440x3120 screenshot; [447, 81] on the relative grid is about (644, 253).
GOLDEN = (
    "Thought: To search for Musk in X, I need to click on the search bar at the top of the "
    "screen. This will allow me to type in the search query.\n"
    'Action: "I tapped on the search bar to begin searching for Musk."\n'
    "<tool_call>\n"
    '{"name": "mobile_use", "arguments": {"action": "click", "coordinate": [447, 81]}}\n'
    "</tool_call>"
)
GOLDEN_THOUGHT = (
    "To search for Musk in X, I need to click on the search bar at the top of the screen. "
    "This will allow me to type in the search query."
)
GOLDEN_ACTION = "I tapped on the search bar to begin searching for Musk."
