"""Value readers: one column of text in, the values PostgreSQL will read and the bad cells out.

Each reader takes a pandas column of cell text (blank = "") and returns a
:class:`~ingest.values.column.ColumnResult`: the values as text in the form PostgreSQL reads
(None = blank), a mask of the cells it could not read, the reason code and how to fix such a
cell. They work on whole columns (one chunk of a file at a time) and know nothing of files,
profiles or the database (they never import psycopg); :mod:`ingest.validate` picks the reader for
each field and turns bad cells into rejections.

- :mod:`~ingest.values.text`: text, external ids, email addresses, domains;
- :mod:`~ingest.values.money`: amounts with thousands separators and currencies;
- :mod:`~ingest.values.numbers`: probabilities and whole numbers;
- :mod:`~ingest.values.choices`: yes/no and enum labels;
- :mod:`~ingest.values.dates`: dates and times in the orders spreadsheets write them.
"""
