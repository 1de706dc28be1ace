"""English concept captions for the pattern classes, written for this project (not from the data sets).

The data's own text is Japanese (kamon blazons) and Indonesian (batik catalogue). Rather than
translate it, each class gets two captions written here by the project's engineer from general
knowledge of the motif: ``train`` (used to build the semantic bank and train L_sem) and ``query``
(worded independently, used only as evaluation queries, so a query never repeats a training
caption word for word). They describe shape first; they are not ethnographic statements.

``sacredness`` sets the L_sem margin (seed 002 eq. 4: 1.2 sacred, 0.8 decorative). The "sacred"
marks below are the engineer's illustrative reading (crests whose use was restricted to the
imperial house, the shogunate or shrines; batik motifs once reserved to the Central Javanese
courts), awaiting expert review, like the rule packs marked "illustrative".
"""

from __future__ import annotations

# Kamon charges: blazon term -> (label, train caption, query caption, sacredness). Order matters:
# the first term found (in the part after the last "に", else the whole blazon) names the charge.
KAMON: list[tuple[str, str, str, str, str]] = [
    ("九曜", "kuyo", "nine circles: a large disc ringed by eight smaller discs, the nine luminaries",
     "crest of one big dot surrounded by eight small dots", "decorative"),
    ("鷹の羽", "takanoha", "hawk feathers: two long barred feathers, often crossed",
     "crossed falcon feather crest", "decorative"),
    ("木瓜", "mokko", "mokko: a rounded four- or five-lobed melon-like cell with a flower at its centre",
     "quince cross-section crest with lobes", "decorative"),
    ("片喰", "katabami", "wood sorrel: three heart-shaped leaves, sometimes with sword blades between them",
     "three-leaf clover crest with heart leaves", "decorative"),
    ("酢漿草", "katabami", "wood sorrel: three heart-shaped leaves, sometimes with sword blades between them",
     "three-leaf clover crest with heart leaves", "decorative"),
    ("沢瀉", "omodaka", "water plantain: arrowhead-shaped leaves on stems with small flowers",
     "arrowhead leaf water plant crest", "decorative"),
    ("亀甲", "kikko", "tortoise shell: a hexagon, the pattern of a turtle's shell",
     "hexagonal turtle shell crest", "decorative"),
    ("七宝", "shippo", "seven treasures: interlocking circles forming four-pointed petals",
     "overlapping rings crest", "decorative"),
    ("桔梗", "kikyo", "bellflower: a five-petalled star-like balloon flower",
     "five-pointed bellflower blossom crest", "decorative"),
    ("牡丹", "botan", "peony: a full round peony blossom with curling leaves",
     "lush peony flower crest", "decorative"),
    ("菊", "kiku", "chrysanthemum: a round flower of many radiating petals, the imperial flower",
     "sun-like flower with sixteen petals", "sacred"),
    ("桐", "kiri", "paulownia: three leaves with three upright flower stalks, an emblem of government",
     "leaves with three rising stems of blossoms crest", "sacred"),
    ("葵", "aoi", "hollyhock: three heart-shaped wild ginger leaves in a circle, the Tokugawa crest",
     "three round leaves meeting in a ring, shogun's crest", "sacred"),
    ("巴", "tomoe", "tomoe: comma-shaped swirls chasing each other in a circle, a shrine emblem",
     "whirling commas crest of a shrine", "sacred"),
    ("蝶", "cho", "butterfly: a butterfly with open wings seen from above or the side",
     "winged insect crest", "decorative"),
    ("鶴", "tsuru", "crane: a crane with spread wings, a bird of long life",
     "long-legged bird with wings forming a circle", "decorative"),
    ("藤", "fuji", "wisteria: drooping clusters of wisteria flowers with leaves",
     "hanging purple flower clusters crest", "decorative"),
    ("柏", "kashiwa", "oak: broad lobed oak leaves, often three or two embracing",
     "crest of wavy-edged leaves", "decorative"),
    ("梅", "ume", "plum blossom: five round petals around a centre",
     "flower of five rounded petals", "decorative"),
    ("笹", "sasa", "bamboo grass: slender pointed bamboo leaves in a ring",
     "narrow pointed leaves arranged in a wreath", "decorative"),
    ("竹", "sasa", "bamboo grass: slender pointed bamboo leaves in a ring",
     "narrow pointed leaves arranged in a wreath", "decorative"),
    ("扇", "ogi", "folding fan: an open folding fan or a round flat fan",
     "opened hand fan crest", "decorative"),
    ("団扇", "ogi", "folding fan: an open folding fan or a round flat fan",
     "opened hand fan crest", "decorative"),
    ("蔦", "tsuta", "ivy: a single ivy leaf with pointed lobes and veins",
     "creeper leaf with three points", "decorative"),
    ("松", "matsu", "pine: pine needles and cones, or a stylised pine tree",
     "evergreen needle tree crest", "decorative"),
    ("蛇", "janome", "snake eye: a thick ring, a bold circle with an empty centre",
     "bold hollow ring crest", "decorative"),
    ("車", "kuruma", "wheel: a cart wheel with spokes",
     "spoked wheel crest", "decorative"),
    ("橘", "tachibana", "mandarin orange: a citrus fruit with leaves",
     "fruit with three leaves crest", "decorative"),
    ("稲", "ine", "rice: ears of rice bending in a ring",
     "bent grain stalks crest", "decorative"),
    ("菱", "hishi", "lozenge: diamonds, four small rhombi or a flower made of rhombi",
     "diamond shapes crest", "decorative"),
    ("星", "hoshi", "stars: a row or group of round dots, often three under a bar",
     "three dots crest", "decorative"),
    ("剣", "ken", "swords: straight double-edged blades",
     "crossed blades crest", "decorative"),
]

# Batik-ragam motifs (evaluation only, never shipped): folder -> (train, query, sacredness).
BATIK: dict[str, tuple[str, str, str]] = {
    "Aceh_Pintu_Aceh": ("Acehnese door batik: geometric rows of small doorway shapes",
                        "repeating house-door geometry cloth", "decorative"),
    "Bali_Barong": ("Balinese Barong batik: the lion-like guardian mask with ornate curls",
                    "fierce protective mask creature textile", "decorative"),
    "Bali_Merak": ("Balinese peacock batik: peacocks with long fanned tail feathers",
                   "peafowl with spread plumage cloth", "decorative"),
    "DKI_Ondel_Ondel": ("Jakarta Ondel-ondel batik: tall giant puppet figures with masks",
                        "big festival doll figures fabric", "decorative"),
    "Jawa_Barat_Megamendung": ("Megamendung batik: layered rain clouds in bands of graded blue or red",
                               "stacked cloud outlines with colour gradients", "decorative"),
    "Jawa_Tengah_Batik_Lasem": ("Lasem batik: Chinese-influenced red flowers, birds and scattered motifs",
                                "red coastal cloth with phoenix and blossoms", "decorative"),
    "Jawa_Timur_Pring": ("East Javanese bamboo batik: bamboo stems and slender leaves",
                         "cane stalks and narrow leaves textile", "decorative"),
    "Kalimantan_Barat_Insang": ("Insang batik: fish gill shapes in rows, from West Kalimantan",
                                "scalloped gill curves cloth", "decorative"),
    "Kalimantan_Dayak": ("Dayak batik: bold interlaced hooks and spirals of Borneo",
                         "swirling tribal hook ornament", "decorative"),
    "Lampung_Gajah": ("Lampung elephant batik: elephants carrying riders in procession",
                      "large tusked animals textile", "decorative"),
    "Madura_Mataketeran": ("Madurese mata keteran batik: small bird-eye shapes in bright colours",
                           "tiny eye-like dots in vivid colours", "decorative"),
    "Maluku_Pala": ("Moluccan nutmeg batik: nutmeg fruits and leaves",
                    "spice fruit with mace and leaves cloth", "decorative"),
    "NTB_Lumbung": ("Lombok lumbung batik: traditional rice barns with peaked roofs",
                    "granary houses with tall roofs fabric", "decorative"),
    "Palembang_Songket": ("Palembang songket: gold-thread geometric stars and flowers on red",
                          "gold woven lattice on crimson", "decorative"),
    "Papua_Asmat": ("Asmat batik from Papua: carved ancestor figures and angular lines",
                    "woodcarving human figures pattern", "decorative"),
    "Papua_Cendrawasih": ("Cendrawasih batik: birds of paradise with flowing plumes",
                          "paradise bird with long trailing feathers", "decorative"),
    "Papua_Tifa": ("Tifa batik: the hourglass-shaped Papuan drum",
                   "hand drum shapes textile", "decorative"),
    "Solo_Parang": ("Parang batik: diagonal rows of knife-like S-shaped waves, once reserved for the court",
                    "slanting blade bands cloth", "sacred"),
    "Solo_Sidoluhur": ("Sidoluhur batik: a square grid filled with small noble motifs, worn at weddings",
                       "lattice of little emblems for ceremonies", "decorative"),
    "Solo_Sogan": ("Sogan batik: brown and indigo classic motifs dyed with soga bark",
                   "earth-brown classical Javanese cloth", "decorative"),
    "Solo_Truntum": ("Truntum batik: small scattered star-like flowers on a dark ground",
                     "tiny blossoms like stars on dark cloth", "decorative"),
    "Sulawesi_Selatan_Lontara": ("Lontara batik: Buginese script characters",
                                 "letters of a South Sulawesi alphabet on cloth", "decorative"),
    "Sumatera_Barat_Rumah_Minang": ("Minangkabau house batik: houses with upswept buffalo-horn roofs",
                                    "horn-shaped roof buildings textile", "decorative"),
    "Sumatera_Utara_Boraspati": ("Boraspati batik: the Batak lizard, a symbol of fertility",
                                 "gecko figure ornament cloth", "decorative"),
    "Yogyakarta_Kawung": ("Kawung batik: four ovals around a point, like palm fruit cross-sections, a court motif",
                          "grid of four-lobed circles", "sacred"),
    "Yogyakarta_Sidomukti": ("Sidomukti batik: diamond grid with butterflies and thrones, for weddings",
                             "lattice with wings and seats motif", "decorative"),
}

# Traditional decor styles (evaluation only): decor code -> (label, train, query, sacredness).
DECOR: dict[str, tuple[str, str, str, str]] = {
    "01": ("gzhel", "Gzhel: cobalt blue brushwork flowers on white porcelain",
           "blue on white painted ceramic flowers", "decorative"),
    "02": ("khokhloma", "Khokhloma: red and gold berries and leaves on black lacquered wood",
           "golden and scarlet foliage on black", "decorative"),
    "03": ("gorodets", "Gorodets: painted roses and horses in bright colours on wood",
           "folk painted rose buds and horses", "decorative"),
    "04": ("wycinanki", "Wycinanki lowickie: colourful layered paper cut-outs of flowers and roosters",
           "multicoloured cut paper folk art", "decorative"),
    "05": ("iznik", "Iznik: tulips, carnations and saz leaves in blue, turquoise and red on white tiles",
           "Ottoman tile flowers in cobalt and turquoise", "decorative"),
    "06": ("neglyubka", "Neglyubka: red geometric embroidery of diamonds and crosses on linen",
           "red cross-stitch geometry on white cloth", "decorative"),
    "07": ("kaszuby", "Kashubian embroidery: stylised tulips and lilies in seven blues, greens and yellows",
           "folk embroidery of blue and yellow flowers", "decorative"),
}


def kamon_charge(description: str) -> str | None:
    """The main charge's label of a blazon ('丸に違い鷹の羽' -> 'takanoha'), or None."""
    tail = description.rsplit("に", 1)[-1]
    for text in (tail, description):
        for term, label, *_ in KAMON:
            if term in text:
                return label
    return None


def kamon_classes() -> dict[str, tuple[str, str, str]]:
    """label -> (train caption, query caption, sacredness), one entry per label."""
    out: dict[str, tuple[str, str, str]] = {}
    for _term, label, train, query, sacred in KAMON:
        out.setdefault(label, ("crest of " + train, query, sacred))
    return out
