DROP TABLE content_scrub;
