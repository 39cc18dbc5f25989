# Django's zh_Hans formats group no digits ("836000.00"); business documents in China group by thousands
# with commas ("836,000.00"), as the English pages do. Everything else is Django's.
from django.conf.locale.zh_Hans.formats import *  # noqa: F403

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
