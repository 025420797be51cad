"""Bundled reference data: chemical elements, planets, countries.

Elements: IUPAC standard atomic weights (abridged, conventional values; for elements with
no stable isotope the mass number of the longest-lived isotope). Planets: NASA planetary
fact sheet (mass in 10^24 kg, equatorial diameter in km, surface gravity in m/s^2, orbital
period in days, mean distance from the Sun in 10^6 km). Countries: ISO 3166-1 codes, capital,
continent and ISO 4217 currency.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["COUNTRIES", "ELEMENTS", "PLANETS", "Country", "Element", "Planet"]

_PERIOD_ENDS = (2, 10, 18, 36, 54, 86, 118)


@dataclass(frozen=True, slots=True)
class Element:
    atomic_number: int
    symbol: str
    name: str
    atomic_mass: float

    @property
    def period(self) -> int:
        return next(i + 1 for i, end in enumerate(_PERIOD_ENDS) if self.atomic_number <= end)


@dataclass(frozen=True, slots=True)
class Planet:
    order: int
    name: str
    mass_1e24_kg: float
    diameter_km: float
    gravity_m_s2: float
    orbital_period_days: float
    distance_from_sun_1e6_km: float


@dataclass(frozen=True, slots=True)
class Country:
    name: str
    alpha2: str
    alpha3: str
    capital: str
    continent: str
    currency: str


_ELEMENT_ROWS = """
1 H Hydrogen 1.008|2 He Helium 4.0026|3 Li Lithium 6.94|4 Be Beryllium 9.0122|5 B Boron 10.81
6 C Carbon 12.011|7 N Nitrogen 14.007|8 O Oxygen 15.999|9 F Fluorine 18.998|10 Ne Neon 20.180
11 Na Sodium 22.990|12 Mg Magnesium 24.305|13 Al Aluminium 26.982|14 Si Silicon 28.085
15 P Phosphorus 30.974|16 S Sulfur 32.06|17 Cl Chlorine 35.45|18 Ar Argon 39.948
19 K Potassium 39.098|20 Ca Calcium 40.078|21 Sc Scandium 44.956|22 Ti Titanium 47.867
23 V Vanadium 50.942|24 Cr Chromium 51.996|25 Mn Manganese 54.938|26 Fe Iron 55.845
27 Co Cobalt 58.933|28 Ni Nickel 58.693|29 Cu Copper 63.546|30 Zn Zinc 65.38
31 Ga Gallium 69.723|32 Ge Germanium 72.630|33 As Arsenic 74.922|34 Se Selenium 78.971
35 Br Bromine 79.904|36 Kr Krypton 83.798|37 Rb Rubidium 85.468|38 Sr Strontium 87.62
39 Y Yttrium 88.906|40 Zr Zirconium 91.224|41 Nb Niobium 92.906|42 Mo Molybdenum 95.95
43 Tc Technetium 98|44 Ru Ruthenium 101.07|45 Rh Rhodium 102.91|46 Pd Palladium 106.42
47 Ag Silver 107.87|48 Cd Cadmium 112.41|49 In Indium 114.82|50 Sn Tin 118.71
51 Sb Antimony 121.76|52 Te Tellurium 127.60|53 I Iodine 126.90|54 Xe Xenon 131.29
55 Cs Caesium 132.91|56 Ba Barium 137.33|74 W Tungsten 183.84|78 Pt Platinum 195.08
79 Au Gold 196.97|80 Hg Mercury 200.59|82 Pb Lead 207.2|86 Rn Radon 222
92 U Uranium 238.03|94 Pu Plutonium 244
"""

_elements: list[Element] = []
for _line in _ELEMENT_ROWS.strip().splitlines():
    for _row in _line.split("|"):
        _z, _symbol, _name, _mass = _row.split()
        _elements.append(Element(int(_z), _symbol, _name, float(_mass)))
ELEMENTS: tuple[Element, ...] = tuple(_elements)

PLANETS: tuple[Planet, ...] = (
    Planet(1, "Mercury", 0.330, 4879, 3.7, 88.0, 57.9),
    Planet(2, "Venus", 4.87, 12104, 8.9, 224.7, 108.2),
    Planet(3, "Earth", 5.97, 12756, 9.8, 365.2, 149.6),
    Planet(4, "Mars", 0.642, 6792, 3.7, 687.0, 228.0),
    Planet(5, "Jupiter", 1898, 142984, 23.1, 4331, 778.5),
    Planet(6, "Saturn", 568, 120536, 9.0, 10747, 1432.0),
    Planet(7, "Uranus", 86.8, 51118, 8.7, 30589, 2867.0),
    Planet(8, "Neptune", 102, 49528, 11.0, 59800, 4515.0),
)

_COUNTRY_ROWS = """
France|FR|FRA|Paris|Europe|EUR
Germany|DE|DEU|Berlin|Europe|EUR
Italy|IT|ITA|Rome|Europe|EUR
Spain|ES|ESP|Madrid|Europe|EUR
Portugal|PT|PRT|Lisbon|Europe|EUR
United Kingdom|GB|GBR|London|Europe|GBP
Ireland|IE|IRL|Dublin|Europe|EUR
Netherlands|NL|NLD|Amsterdam|Europe|EUR
Belgium|BE|BEL|Brussels|Europe|EUR
Switzerland|CH|CHE|Bern|Europe|CHF
Austria|AT|AUT|Vienna|Europe|EUR
Poland|PL|POL|Warsaw|Europe|PLN
Sweden|SE|SWE|Stockholm|Europe|SEK
Norway|NO|NOR|Oslo|Europe|NOK
Finland|FI|FIN|Helsinki|Europe|EUR
Denmark|DK|DNK|Copenhagen|Europe|DKK
Greece|GR|GRC|Athens|Europe|EUR
United States|US|USA|Washington, D.C.|North America|USD
Canada|CA|CAN|Ottawa|North America|CAD
Mexico|MX|MEX|Mexico City|North America|MXN
Brazil|BR|BRA|Brasília|South America|BRL
Argentina|AR|ARG|Buenos Aires|South America|ARS
Chile|CL|CHL|Santiago|South America|CLP
Peru|PE|PER|Lima|South America|PEN
Colombia|CO|COL|Bogotá|South America|COP
China|CN|CHN|Beijing|Asia|CNY
Japan|JP|JPN|Tokyo|Asia|JPY
India|IN|IND|New Delhi|Asia|INR
South Korea|KR|KOR|Seoul|Asia|KRW
Indonesia|ID|IDN|Jakarta|Asia|IDR
Thailand|TH|THA|Bangkok|Asia|THB
Vietnam|VN|VNM|Hanoi|Asia|VND
Turkey|TR|TUR|Ankara|Asia|TRY
Egypt|EG|EGY|Cairo|Africa|EGP
Nigeria|NG|NGA|Abuja|Africa|NGN
Kenya|KE|KEN|Nairobi|Africa|KES
South Africa|ZA|ZAF|Pretoria|Africa|ZAR
Morocco|MA|MAR|Rabat|Africa|MAD
Ethiopia|ET|ETH|Addis Ababa|Africa|ETB
Australia|AU|AUS|Canberra|Oceania|AUD
New Zealand|NZ|NZL|Wellington|Oceania|NZD
"""

COUNTRIES: tuple[Country, ...] = tuple(
    Country(*line.split("|")) for line in _COUNTRY_ROWS.strip().splitlines()
)
