"""The domain core: rules of the 学籍 regulation, free of Flask-Admin."""
