"""Lists: the largest page of any list, as Webflow caps a list's `limit` at 100."""

MAX_PAGE = 100
