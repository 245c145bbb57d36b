"""Sample pages of the 学籍卡 (record card) and of a 学生卡 sheet, made from the demo province.

    .venv/bin/python scripts/card_samples.py [OUTDIR]      (default docs/images)

It builds the demo in a throwaway instance (its own SQLite file, never instance/xueji.db), gives a
few pupils of 和平一小 a drawn sample photo (the demo has no photos), and prints as the school's
registrar (school-heping1) through the same services the buttons use: the 学籍卡 of one pupil
(services/student_cards.print_card; sensitive groups masked, as without an export request) and the
学生卡 sheet of the pupil's class (services/pupil_cards). Each PDF's first page is written as PNG
with poppler's pdftoppm beside the PDF. On the running demo (`make run`) the same documents come
from the pupil's page (学籍卡; 学生卡 → 发放, 打印) and from 班级管理 → a class → 打印学生卡.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE = "https://xueji.example.cn"


def sample_photo(hue: int) -> bytes:
    """A head-and-shoulders silhouette on a light background: clearly a placeholder, not a child."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (358, 441), (225, 235, 245))
    draw = ImageDraw.Draw(img)
    colour = (60 + hue % 120, 90, 150)
    draw.ellipse((119, 70, 239, 200), fill=colour)
    draw.ellipse((49, 220, 309, 520), fill=colour)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def to_png(pdf_path: Path) -> Path:
    stem = pdf_path.with_suffix("")
    subprocess.run(["pdftoppm", "-r", "100", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf_path), str(stem)],
                   check=True)
    return stem.with_suffix(".png")


def main(outdir: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="xueji-samples-"))
    os.environ["XUEJI_INSTANCE"] = str(work)  # read by config at import: the demo lives only here
    os.environ.pop("DATABASE_URL", None)
    os.environ["QUEUE_URL"] = f"sqlite:///{work / 'queue.db'}"
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade
    from sqlalchemy import select

    from app import create_app
    from cli.demo import load_demo
    from extensions import db
    from models.people import User
    from models.student import Student
    from services import photos, pupil_cards, student_cards

    app = create_app()
    app.config["QUEUE_IMMEDIATE"] = True
    outdir.mkdir(parents=True, exist_ok=True)
    try:
        with app.test_request_context():
            upgrade(directory=str(ROOT / "migrations"))
            load_demo(pupils=300, requests=True)
            registrar = db.session.scalar(select(User).where(User.email == "school-heping1@xueji.demo"))
            pupil = db.session.scalar(
                select(Student).where(Student.school_id == registrar.unit_id, Student.status == "enrolled",
                                      Student.class_id.is_not(None)).order_by(Student.id))
            classmates = list(db.session.scalars(
                select(Student).where(Student.class_id == pupil.class_id, Student.status == "enrolled")
                .order_by(Student.name).limit(8)))
            for n, mate in enumerate(classmates[:5]):
                photos.set_photo(registrar, mate, sample_photo(n * 37), "示例照片.jpg", commit=False)
            db.session.commit()

            record_pdf, doc = student_cards.print_card(registrar, pupil, (), SITE)
            pupil_cards.issue_missing(registrar, classmates)
            sheet_pdf = pupil_cards.print_sheet(registrar, pupil_cards.valid_cards(classmates), SITE, "示例")
            summary = f"学籍卡 {doc.number} of {pupil.name}; 学生卡 of {len(classmates)} pupils of the same class"
            db.session.commit()
        for name, data in (("record-card-demo.pdf", record_pdf), ("student-card-sheet-demo.pdf", sheet_pdf)):
            path = outdir / name
            path.write_bytes(data)
            print(f"{path}  →  {to_png(path)}")
        print(summary)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images")
