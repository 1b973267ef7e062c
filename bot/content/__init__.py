"""Admin-edited content: locales, flows, triage rules, desk hours and the resource index.

registry loads and hot-reloads them as one checked set; i18n is the text catalog, languages and
langdetect the 17 locales and guessing a message's language, zawgyi Burmese typed in Zawgyi,
localformat dates and numbers per locale, yamlfile YAML with line numbers, checks and adminmsg
the `flows check` reports in the admins' words.
"""
