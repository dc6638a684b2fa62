"""The modules restricted mode will not allow unless ``security.allowUnsafeModules``
(``--allow-unsafe-modules``) is set: the one list, each with why it is there.

A module is here when its public API, called with values a caller sends,
runs code (eval, pickle, an import by name, a shell command), walks any
object's attributes (dunders included), reaches every object in the
process, writes files at a path the caller names (a file written in the
right place runs as code: a ``.pth`` in site-packages, a ``__pycache__``
entry, a shell profile), or changes state every later call shares (signal
handlers, trace hooks, limits). An entry covers the module and everything
below it (``os`` covers ``os.path``); a C twin whose name is the module's
with a leading underscore (``_pickle``) counts as the module itself.

Deliberately absent, because what they call is only ever something the
caller could already call: ``copy``, ``weakref``, ``abc``, ``atexit``,
``concurrent.futures``, ``json``, ``string`` (its ``Formatter`` walks
attributes named in a template: the format rule refuses those methods
instead, in ``restrictions.py``). Third-party libraries are listed only
when loading objects or code is part of their documented API; restricted
mode is meant for an allowlist of your own API modules, not of libraries.
"""

from __future__ import annotations

UNSAFE_MODULES: dict[str, str] = {
    # --- code and objects from strings or bytes -------------------------------------------------------
    "builtins": "eval, exec, compile, getattr, __import__ and open reach anything",
    "__main__": "the worker's own entry module and its globals",
    "code": "runs Python source (InteractiveInterpreter.runsource)",
    "codeop": "compiles Python source into code objects",
    "runpy": "runs any module or file as __main__",
    "types": "builds functions and modules from code objects (FunctionType, CodeType)",
    "marshal": "loads code objects from bytes",
    "pickle": "unpickling bytes calls any importable callable",
    "copyreg": "registers the reducers pickling and copying call",
    "shelve": "a dict of pickles stored in a file the caller names",
    "dbm": "key-value files at paths the caller names",
    "dill": "unpickles, code objects included",
    "cloudpickle": "unpickles, code objects included",
    "joblib": "joblib.load unpickles a file; Parallel runs callables in other processes",
    "yaml": "yaml.unsafe_load (and load with an unsafe Loader) builds any object",
    "jinja2": "templates walk attributes and call methods: template injection runs code",
    "mako": "templates are Python code",
    "sympy": "sympify evaluates strings as Python",
    "numexpr": "evaluate() compiles the expression it is given",
    "numpy": "numpy.load(allow_pickle=True) unpickles any file, numpy.savetxt writes one; ctypeslib loads libraries",
    "pandas": "read_pickle unpickles a file or URL; DataFrame.eval/query evaluate expressions; to_csv writes any path",
    "torch": "torch.load unpickles a file",
    "typing": "get_type_hints evaluates string annotations, which a caller can write (NamedTuple('T', [('a', '...')]))",
    "typing_extensions": "get_type_hints evaluates string annotations, as typing's does",
    "annotationlib": "ForwardRef.evaluate evaluates strings as Python",
    "timeit": "timeit.timeit runs a statement string",
    "doctest": "runs the examples in docstrings and files",
    "unittest": "loads and runs tests by dotted name (loadTestsFromName)",
    "pdb": "a debugger: runs statements, walks frames",
    "bdb": "the debugger framework: runs code under a tracer",
    "trace": "runs code and module names under a tracer",
    "profile": "runs a statement string (run, runctx)",
    "cProfile": "runs a statement string (run, runctx)",
    "pydoc": "locate() resolves any dotted name; pipepager runs a shell command",
    "tkinter": "Tcl().eval runs Tcl, which runs commands (exec)",
    "_tkinter": "the Tcl interpreter tkinter drives",
    # --- imports by name, and the import machinery ---------------------------------------------------
    "importlib": "import_module imports any module by name; importlib.metadata loads entry points",
    "imp": "loads modules and extension libraries from paths",
    "_imp": "the import machinery's C side",
    "pkgutil": "resolve_name and walk_packages import by name",
    "pkg_resources": "EntryPoint.resolve imports any name",
    "zipimport": "imports code from archives at any path",
    "site": "addsitedir runs the .pth files of a directory",
    "py_compile": "writes compiled code where the caller says (a __pycache__ entry runs on import)",
    "compileall": "writes compiled code for whole directories",
    "setuptools": "runs setup scripts and build commands",
    "distutils": "runs build commands",
    "pip": "installs packages, which runs their code",
    "ensurepip": "installs pip, running it",
    "venv": "creates environments and runs pip in them",
    # --- walking every object, frames and the interpreter ----------------------------------------------
    "operator": "attrgetter and methodcaller walk any attribute or method a string names, dunders included",
    "functools": "partial and reduce call what they are given, and a partial of a refused callable is one "
    "of functools' own callables: the callable rule would see functools, not what it wraps",
    "inspect": "getmembers walks dunders; currentframe and stack hand out frames",
    "gc": "get_objects and get_referrers reach every object in the process",
    "sys": "sys.modules, _getframe, settrace, setprofile and audit hooks reach everything",
    "ctypes": "reads and writes raw memory, calls any C function",
    "cffi": "loads libraries and calls C functions",
    "_testcapi": "C API test hooks that corrupt memory",
    "_testinternalcapi": "C API test hooks that corrupt memory",
    "_xxsubinterpreters": "runs source strings in subinterpreters",
    "_interpreters": "runs source strings in subinterpreters",
    "concurrent.interpreters": "runs source strings in subinterpreters",
    "snakebridge": "the runtime itself: a Resolver or Dispatcher of one's own evaluates code and reaches every "
    "module; its test fixtures call any builtin by name (snakebridge.testing.contract.fail)",
    # --- processes, the OS and signals -----------------------------------------------------------------
    "os": "system, exec*, spawn*, popen, fork, kill, environ, and every file operation",
    "posix": "the C side of os",
    "nt": "the C side of os on Windows",
    "subprocess": "runs commands",
    "_posixsubprocess": "the C side of subprocess: fork and exec",
    "_winapi": "CreateProcess and raw handles on Windows",
    "pty": "spawns processes on a terminal",
    "multiprocessing": "starts processes, and its connections and managers unpickle what they receive",
    "asyncio": "create_subprocess_shell and create_subprocess_exec run commands; servers open sockets",
    "threading": "settrace and setprofile hand every frame of new threads to a callable; threads outlive calls",
    "_thread": "the C side of threading: threads that outlive calls, interrupt_main",
    "signal": "replaces the process's signal handlers and signals threads",
    "resource": "changes the limits of the process every caller shares",
    "fcntl": "ioctl on any descriptor (TIOCSTI types into a terminal)",
    "mmap": "maps files and descriptors into memory",
    "webbrowser": "get() takes a command line to run",
    # --- files at paths the caller names ---------------------------------------------------------------
    "io": "open reads and writes any file",
    "codecs": "codecs.open reads and writes any file",
    "pathlib": "Path.write_text, write_bytes, unlink and rename act on any path",
    "shutil": "copies, moves and deletes trees; unpack_archive writes anywhere",
    "tempfile": "creates files in any directory (dir=, suffix=) and keeps them (delete=False)",
    "fileinput": "reads and rewrites files in place",
    "linecache": "reads any file",
    "tarfile": "extracts archives anywhere and writes archives at any path",
    "zipfile": "extracts archives anywhere and writes archives at any path",
    "sqlite3": "opens databases at any path; enable_load_extension loads native code",
    "logging": "FileHandler writes any path; logging.config builds objects named in a dict and listens on a socket",
    "gzip": "open writes over any path",
    "bz2": "open writes over any path",
    "lzma": "open writes over any path",
    "wave": "open writes audio files, with the caller's bytes, at any path",
    "aifc": "open writes audio files, with the caller's bytes, at any path",
    "sunau": "open writes audio files, with the caller's bytes, at any path",
    "mailbox": "mailboxes are files and directories at paths the caller names",
    "xml": "parse reads any path or URL (xml.sax fetches them); ElementTree.write writes the caller's text at any path",
    # --- the network -------------------------------------------------------------------------------------
    "socket": "opens any connection or listening socket",
    "ssl": "opens connections (get_server_certificate) and wraps sockets",
    "socketserver": "listens on sockets and runs handlers",
    "http": "http.client opens connections; http.server serves files",
    "urllib.request": "opens any URL, file:// included",
    "xmlrpc": "SimpleXMLRPCServer dispatches to dotted names; clients unmarshal what servers send",
    "wsgiref": "serves an application on a socket",
    "ftplib": "opens connections and transfers files",
    "smtplib": "opens connections and sends mail",
    "poplib": "opens connections",
    "imaplib": "opens connections",
    "telnetlib": "opens connections",
    "nntplib": "opens connections",
}


def unsafe_entry(module: str) -> str | None:
    """The entry of ``UNSAFE_MODULES`` that covers ``module`` (itself or a parent), or None.

    ``_pickle`` is read as ``pickle``: a leading underscore marks a module's C twin.
    """
    for name in (module, module_of_twin(module)):
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):
            prefix = ".".join(parts[:depth])
            if prefix in UNSAFE_MODULES:
                return prefix
    return None


def module_of_twin(module: str) -> str:
    """The module a C twin stands for (``_pickle`` → ``pickle``); dunder names (``__main__``) and public
    names are returned as they are."""
    if module.startswith("_") and not module.startswith("__"):
        return module[1:]
    return module
