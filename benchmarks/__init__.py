"""`make bench`: deepseek-viz measured side by side with its peers (bertviz, circuitsvis) in one run."""
