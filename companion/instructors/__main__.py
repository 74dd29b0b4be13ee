"""``python -m companion.instructors student|course|grade``: the student notebooks, the nbgrader course
folder and the autograder."""
import argparse
import sys
from pathlib import Path

from . import InstructorError
from .course import DEFAULT_TIMEOUT
from .sandbox import Limits


def parser():
    """The command line: three subcommands, ``student``, ``course`` and ``grade``."""
    cli = argparse.ArgumentParser(prog="python -m companion.instructors", description=__doc__)
    commands = cli.add_subparsers(dest="command", required=True)

    student = commands.add_parser("student",
                                  help="write the student notebooks (nbgrader generate_assignment)")
    student.add_argument("--output", type=Path, default=Path("_build/student"),
                         help="folder of the <chapter>.ipynb files (default: _build/student)")

    course = commands.add_parser("course", help="write (or update) an nbgrader course folder of the chapters")
    course.add_argument("--output", type=Path, required=True, help="the course folder (created if missing)")
    course.add_argument("--exchange", default=None,
                        help="the nbgrader exchange folder (default: /srv/nbgrader/exchange)")
    course.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT,
                        help=f"seconds a cell may run in nbgrader's autograde (default: {DEFAULT_TIMEOUT})")

    grade = commands.add_parser("grade", help="autograde submitted notebooks (nbgrader autograde)")
    grade.add_argument("submissions", type=Path, metavar="SUBMISSIONS",
                       help="folder with one folder per student, each holding <chapter>.ipynb files "
                            "(or nbgrader's collected <chapter>/<chapter>.ipynb: COURSE_DIR/submitted)")
    grade.add_argument("--output", type=Path, default=Path("_build/grades"),
                       help="folder of grades.csv and feedback/ (default: _build/grades)")
    grade.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT,
                       help=f"seconds a cell may run before it is interrupted (default: {DEFAULT_TIMEOUT})")
    grade.add_argument("--workers", type=int, default=None,
                       help="notebooks graded at once (default: one per core)")
    grade.add_argument("--memory-gib", type=float, default=Limits.memory_gib,
                       help=f"memory of each sandboxed process, GiB (default: {Limits.memory_gib:g})")
    grade.add_argument("--processes", type=int, default=Limits.processes,
                       help=f"processes and threads a sandbox may have (default: {Limits.processes})")
    grade.add_argument("--trusted", action="store_true",
                       help="run the kernels WITHOUT the sandbox: only for submissions you trust")

    for command in (student, course, grade):
        command.add_argument("--chapters", nargs="+", metavar="CHAPTER",
                             help="only these chapters (names of _toc.yml files, e.g. intro)")
    return cli


def main(argv=None):
    """Run the command line; returns the exit status (2 with a message for a problem to fix)."""
    args = parser().parse_args(argv)
    try:
        if args.command == "student":
            from .edition import make_student_edition
            for path in make_student_edition(args.output, args.chapters):
                print(f"wrote {path}")
        elif args.command == "course":
            from .nbgrader_course import DEFAULT_EXCHANGE, write_course
            for path in write_course(args.output, args.chapters, exchange=args.exchange or DEFAULT_EXCHANGE,
                                     timeout=args.timeout):
                print(f"wrote {path}")
            print(f"next, in {args.output}: nbgrader generate_assignment CHAPTER, then nbgrader "
                  "release_assignment CHAPTER (see the README's section for instructors)")
        else:
            from .grading import grade, summary
            if args.timeout <= 0:
                raise InstructorError("--timeout must be a positive whole number of seconds")
            if args.trusted:
                print("warning: --trusted: grading WITHOUT the sandbox; every submission runs with your "
                      "permissions", file=sys.stderr)
            rows = grade(args.submissions, args.output, timeout=args.timeout, chapters=args.chapters,
                         workers=args.workers, trusted=args.trusted,
                         limits=Limits(memory_gib=args.memory_gib, processes=args.processes),
                         progress=lambda line: print(line, file=sys.stderr, flush=True))
            print(summary(rows))
            print(f"\nscores: {args.output / 'grades.csv'}   feedback: {args.output / 'feedback'}")
    except InstructorError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
