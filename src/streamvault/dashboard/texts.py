"""The page's words in Russian (the original dashboard's language) and English; chart titles live
with the charts."""

from __future__ import annotations

from streamvault.dashboard.charts import Lang

TEXTS: dict[Lang, dict[str, str]] = {
    "ru": {
        "title": "Популярность блюд и категорий",
        "kpi_orders": "Заказов учтено",
        "kpi_users": "Пользователей",
        "kpi_dishes": "Блюд",
        "kpi_newest": "Самые свежие данные",
        "no_data": "Данных пока нет: витрины пусты. Страница обновится сама, когда появятся заказы.",
        "chart_no_data": "Данных пока нет",
        "show_all": "Показать все ({count})",
        "show_top": "Только топ-{count}",
        "table": "Таблица",
        "col_name": "Название",
        "users": "Пользователей",
        "orders": "Заказов",
        "live": "Обновляется каждые {seconds} с · проверено в {time}",
        "offline": "Нет связи с сервером, повторяем… Последняя проверка в {time}",
        "loading": "Загрузка…",
        "data_as_of": "Данные на {time} · отставание {seconds} с",
    },
    "en": {
        "title": "Dish and category popularity",
        "kpi_orders": "Orders counted",
        "kpi_users": "Users",
        "kpi_dishes": "Dishes",
        "kpi_newest": "Newest data",
        "no_data": "No data yet: the marts are empty. This page updates itself when orders arrive.",
        "chart_no_data": "No data yet",
        "show_all": "Show all ({count})",
        "show_top": "Top {count} only",
        "table": "Table",
        "col_name": "Name",
        "users": "Users",
        "orders": "Orders",
        "live": "Refreshes every {seconds} s · checked at {time}",
        "offline": "Server unreachable, retrying… Last checked at {time}",
        "loading": "Loading…",
        "data_as_of": "Data as of {time} · {seconds} s behind now",
    },
}
