import random
import re
from datetime import UTC, datetime

from orderdesk.domain import clock, ids


def test_order_ids_are_short_until_a_site_holds_a_sixteenth_of_the_space():
    rng = random.Random(7)
    assert re.fullmatch(r"[0-9a-f]{3}-[0-9a-f]{3}", ids.order_id(ids.LONG_ORDER_IDS_AFTER, rng.getrandbits))
    assert re.fullmatch(r"[0-9a-f]{3}-[0-9a-f]{3}-[0-9a-f]{3}", ids.order_id(ids.LONG_ORDER_IDS_AFTER + 1, rng.getrandbits))
    assert ids.LONG_ORDER_IDS_AFTER == 16**6 // 16 == 1_048_576


def test_object_ids_are_24_lowercase_hex():
    assert re.fullmatch(r"[0-9a-f]{24}", ids.object_id())


def test_timestamps_are_utc_with_milliseconds_and_z():
    moment = datetime(2024, 3, 29, 21, 29, 21, 555_999, tzinfo=UTC)
    assert clock.to_wire(moment) == "2024-03-29T21:29:21.555Z"
    assert clock.from_wire("2024-03-29T21:29:21.555Z") == datetime(2024, 3, 29, 21, 29, 21, 555_000, tzinfo=UTC)
    assert clock.to_wire(clock.from_millis(clock.to_millis(moment))) == "2024-03-29T21:29:21.555Z"
