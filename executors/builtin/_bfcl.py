"""BFCL executable-category functions that the built-in library does not provide.

Every other function named in BFCL's ``exec_*`` sets exists in a category module under its
BFCL name and parameters. These need live web services (their BFCL implementations call
RapidAPI, OMDB, Open-Meteo and similar), so they are not pure, offline or deterministic.
"""

from __future__ import annotations

__all__ = ["BFCL_WEB_ONLY"]

_LIVE = "needs a live web API"

BFCL_WEB_ONLY: dict[str, str] = {
    "convert_currency": f"{_LIVE}: current exchange rates (ExchangeRate-API)",
    "find_term_on_urban_dictionary": f"{_LIVE}: Urban Dictionary definitions",
    "get_active_covid_case_by_country": f"{_LIVE}: current COVID-19 statistics",
    "get_company_name_by_stock_name": f"{_LIVE}: stock symbol lookup",
    "get_coordinate_by_ip_address": f"{_LIVE}: IP geolocation",
    "get_coordinates_from_city": f"{_LIVE}: geocoding (Maps.co)",
    "get_covid_death_by_country": f"{_LIVE}: current COVID-19 statistics",
    "get_director_by_movie_name": f"{_LIVE}: movie database (OMDB)",
    "get_movie_director": f"{_LIVE}: movie database (OMDB)",
    "get_movie_genre": f"{_LIVE}: movie database (OMDB)",
    "get_movie_rating": f"{_LIVE}: movie database (OMDB)",
    "get_price_by_amazon_ASIN": f"{_LIVE}: current Amazon product prices",
    "get_product_name_by_amazon_ASIN": f"{_LIVE}: Amazon product catalogue",
    "get_rating_by_amazon_ASIN": f"{_LIVE}: current Amazon product ratings",
    "get_stock_history": f"{_LIVE}: market data",
    "get_stock_price_by_stock_name": f"{_LIVE}: current market prices",
    "get_time_zone_by_coord": f"{_LIVE}: time-zone boundary lookup",
    "get_weather_data": f"{_LIVE}: current weather (Open-Meteo)",
    "get_zipcode_by_ip_address": f"{_LIVE}: IP geolocation",
    "retrieve_city_based_on_zipcode": f"{_LIVE}: postal-code lookup",
    "retrieve_holiday_by_year": f"{_LIVE}: public-holiday calendars (Nager.Date)",
}
"""BFCL exec function name -> why it is not a built-in."""
