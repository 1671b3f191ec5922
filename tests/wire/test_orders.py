"""The stored order document: read back exactly as it was written, free-form numbers and all."""

from __future__ import annotations

from decimal import Decimal

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from orderdesk.wire import orders as wire
from orderdesk.wire.money import MoneyDoc


def usd(amount: int) -> MoneyDoc:
    return MoneyDoc("USD", str(amount), f"$ {amount // 100}.{amount % 100:02d} USD")


def stored_document(**changes) -> wire.OrderDoc:
    """An order as the store keeps it: every field filled in, the computed ones too."""
    shipping = wire.Address(type="shipping", addressee="Arthur Dent", line1="1 Main St", city="Cottington",
                            country="GB", postal_code="CT1 1AA")
    billing = wire.Address(type="billing", japan_type="kana", addressee="Arthur Dent", line1="1 Main St",
                           line2="Flat 2", city="Cottington", state="Kent", country="GB", postal_code="CT1 1AA")
    item = wire.PurchasedItem(
        count=2, variant_price=usd(2500), row_total=usd(5000), product_id="p" * 24, product_name="Towel",
        product_slug="towel", variant_id="v" * 24, variant_name="Blue", variant_slug="blue", variant_sku="T-1",
        variant_image={"url": "https://example.com/towel.png", "width": Decimal("1.5")}, weight=0.25, width=10.0,
        height=None, length=3.0)
    document = wire.OrderDoc(
        order_id="a1b2c3", status="fulfilled", comment="leave at the door", order_comment="thanks",
        accepted_on="2026-05-01T10:00:00.000Z", fulfilled_on="2026-05-02T09:30:00.123Z", refunded_on=None,
        disputed_on=None, dispute_updated_on=None, dispute_last_status=None,
        customer_paid=usd(5800), net_amount=usd(5602), application_fee=usd(198),
        all_addresses=[shipping, billing], shipping_address=shipping, billing_address=billing,
        shipping_provider="Royal Mail", shipping_tracking="RM123", shipping_tracking_url="https://example.com/t",
        customer_info=wire.CustomerInfo(full_name="Arthur Dent", email="arthur@example.com"),
        purchased_items=[item], purchased_items_count=2,
        stripe_details=wire.StripeDetails(payment_intent_id="pi_1", charge_id="ch_1", customer_id="cus_1"),
        stripe_card=wire.StripeCard(last4="4242", brand="Visa", owner_name="Arthur Dent",
                                    expires=wire.CardExpiry(year=2030, month=4)),
        paypal_details=wire.PaypalDetails(),
        custom_data=[{"giftNote": "for you", "ribbon": Decimal("0.25"), "count": 3}],
        metadata=wire.Metadata(is_buy_now=True), is_shipping_required=True,
        totals=wire.Totals(extras=[wire.Extra(type="shipping", name="Flat", price=usd(500)),
                                   wire.Extra(type="tax", name="State Taxes", price=usd(300))],
                           subtotal=usd(5000), total=usd(5800)),
        download_files=[wire.DownloadFile(id="f1", name="manual.pdf", url="https://example.com/m.pdf")])
    return msgspec.structs.replace(document, **changes)


def test_a_stored_document_has_every_field_of_the_order():
    written = msgspec.json.decode(wire.encode(stored_document()))

    assert set(written) == {field.encode_name for field in msgspec.structs.fields(wire.OrderDoc)}


def test_a_stored_document_decodes_to_what_was_encoded():
    document = stored_document()

    assert wire.decode(wire.encode(document)) == document


def test_a_stored_document_with_the_defaults_decodes_to_what_was_encoded():
    document = wire.OrderDoc(order_id="0001", customer_paid=usd(0), net_amount=usd(0), application_fee=usd(0),
                             all_addresses=[], purchased_items_count=0,
                             totals=wire.Totals(subtotal=usd(0), total=usd(0)))

    assert wire.decode(wire.encode(document)) == document


def test_a_huge_free_form_number_round_trips_byte_for_byte():
    # 1E+400 is past any float: read as one it would be infinity, and written back as null.
    written = wire.encode(stored_document(custom_data=[{"big": "BIG", "fine": "FINE", "small": "SMALL"}]))
    document = (written.replace(b'"BIG"', b"1E+400").replace(b'"FINE"', b"0.10000000000000000000001")
                .replace(b'"SMALL"', b"-2.5E-400"))

    assert wire.encode(wire.decode(document)) == document
    assert b'"customData":[{"big":1E+400,"fine":0.10000000000000000000001,"small":-2.5E-400}]' in document


# Free-form values as strict_json hands them over: strings are writable UTF-8, and a number is an int unless
# it was written with a point or an exponent, when it is a Decimal (so never Decimal("-0"), which is int 0).
numbers_with_a_point_or_exponent = st.decimals(allow_nan=False, allow_infinity=False).filter(
    lambda number: "." in str(number) or "E" in str(number))
free_form = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10**30, max_value=10**30) | numbers_with_a_point_or_exponent
    | st.text(st.characters(exclude_categories=("Cs",))),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)


@given(st.lists(st.dictionaries(st.text(max_size=8), free_form, max_size=4), max_size=3),
       st.dictionaries(st.text(max_size=8), free_form, max_size=4))
def test_any_free_form_data_is_read_back_as_it_was_written(custom_data, variant_image):
    document = stored_document(custom_data=custom_data)
    document.purchased_items[0].variant_image = variant_image
    written = wire.encode(document)

    assert wire.decode(written) == document
    assert wire.encode(wire.decode(written)) == written


def test_the_dispute_statuses_services_accept_are_the_specs_enum():
    # services/ may not import wire/, so it keeps its own tuple; this holds the two together.
    from typing import get_args

    from orderdesk.services.disputes import DISPUTE_STATUSES
    from orderdesk.wire.orders import DisputeStatusText

    assert DISPUTE_STATUSES == get_args(DisputeStatusText)
