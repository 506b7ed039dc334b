"""The pipeline package of this repository; see README.md."""
