"""Word lists for realistic seed orders.

Weighted lists are spelled out one entry per unit of weight, so that a uniform pick from them is a
weighted pick: one random number per choice, which matters when a million orders are made.
"""


def by_weight(weighted: list[tuple[object, int]]) -> tuple:
    """Each value repeated `weight` times."""
    return tuple(value for value, weight in weighted for _ in range(weight))


ADJECTIVES = ["Handcrafted", "Recycled", "Luxurious", "Rustic", "Sleek", "Ergonomic", "Organic", "Vintage",
              "Modern", "Classic", "Compact", "Refined"]
NOUNS = ["Tote Bag", "Coffee Mug", "Notebook", "Desk Lamp", "Water Bottle", "Wool Scarf", "Candle",
         "Backpack", "Ceramic Vase", "Linen Shirt", "Sunglasses", "Phone Case", "Tea Set", "Poster"]
COLOURS = ["Black", "White", "Navy", "Olive", "Sand", "Terracotta", "Grey", "Rose"]
SIZES = ["Small", "Medium", "Large"]
FIRST_NAMES = ["Arthur", "Ford", "Tricia", "Zaphod", "Marvin", "Fenchurch", "Agnes", "Kenji", "Yuki", "Amara",
               "Lucas", "Sofia", "Mateo", "Chloe", "Noah", "Ines", "Oliver", "Hana", "Lea", "Priya"]
LAST_NAMES = ["Dent", "Prefect", "McMillan", "Beeblebrox", "Nutter", "Tanaka", "Sato", "Okafor", "Moreau",
              "Schmidt", "Rossi", "Silva", "Jensen", "Novak", "Kowalski", "Nguyen", "Patel", "Garcia"]

# country, tax name, tax basis points, [(city, state, postal code)], street names; and how often it buys
COUNTRIES = by_weight([
    (("US", "State Taxes", 800, [("New York", "NY", "10118"), ("Austin", "TX", "78701"),
                                 ("Portland", "OR", "97205"), ("Chicago", "IL", "60601")],
      ["W 34th St", "Congress Ave", "Main Street", "Lake Shore Dr"]), 40),
    (("CA", "GST", 500, [("Toronto", "ON", "M5V 2T6"), ("Vancouver", "BC", "V6B 1A1")],
      ["King St W", "Granville St"]), 8),
    (("GB", "VAT", 2000, [("London", "", "EC1A 1BB"), ("Manchester", "", "M1 1AE")],
      ["High Street", "Station Road"]), 12),
    (("DE", "MwSt", 1900, [("Berlin", "", "10115"), ("München", "BY", "80331")],
      ["Hauptstraße", "Bahnhofstraße"]), 10),
    (("FR", "TVA", 2000, [("Paris", "", "75001"), ("Lyon", "", "69001")],
      ["Rue de Rivoli", "Rue de la République"]), 8),
    (("JP", "消費税", 1000, [("東京都", "千代田区", "100-0001"), ("大阪市", "大阪府", "530-0001")],
      ["丸の内1-1", "梅田2-2"]), 10),
    (("AU", "GST", 1000, [("Sydney", "NSW", "2000"), ("Melbourne", "VIC", "3000")], ["George St", "Collins St"]), 7),
    (("NL", "BTW", 2100, [("Amsterdam", "", "1012 AB")], ["Damrak"]), 5),
])

BRANDS = by_weight([("Visa", 55), ("MasterCard", 30), ("American Express", 10), ("Discover", 3), ("JCB", 2)])

# A shop where most orders ship, some wait, a few go wrong.
STATUSES = by_weight([("fulfilled", 56), ("unfulfilled", 22), ("refunded", 8), ("pending", 5), ("disputed", 4),
                      ("dispute-lost", 5)])
SHIPPING = [("Flat", 0), ("Standard", 499), ("Express", 1299)]
CARRIERS = [("UPS", "https://www.ups.com/track?tracknum="), ("DHL", "https://www.dhl.com/track?id="),
            ("USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels=")]
ITEM_COUNTS = (1, 1, 1, 2, 3)
LINE2 = ("", "", "Unit")  # "Unit" gets a number
ORDER_COMMENTS = ("", "", "", "Please gift wrap.")
REFUND_REASONS = ("requested_by_customer", "duplicate", "fraudulent")
OPEN_DISPUTE_STATUSES = ("needs_response", "under_review", "warning_needs_response")
