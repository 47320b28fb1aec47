"""The studio itself: health, jobs and the live event stream."""
