using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace GitHub.Copilot
{
    /// <summary>Finds libcopilot.so before the first P/Invoke, so that [DllImport("copilot")] loads
    /// the copy the NuGet package ships, and turns a missing or wrong library into a
    /// CopilotException that says where it looked.
    ///
    /// Looked for, in order: libcopilot.so beside GitHub.Copilot.dll;
    /// runtimes/RID/native/libcopilot.so below that folder (a build output: what MSBuild
    /// copies from the package); ../../runtimes/RID/native/libcopilot.so (the assembly still
    /// in the unpacked package, lib/netstandard2.0/). The first that exists is what
    /// "copilot" means from then on: on Mono through a dllmap entry (mono_dllmap_insert, the
    /// programmatic form of a &lt;dllmap&gt; in a .dll.config), on .NET Core 3+ through
    /// NativeLibrary.SetDllImportResolver (looked up by reflection: netstandard2.0 does not
    /// have it; .NET also resolves the package's runtimes/ folder itself, from deps.json).
    /// When none exists, the runtime's own search applies (the assembly's folder,
    /// LD_LIBRARY_PATH, the ld.so cache, /usr/lib).
    ///
    /// Mono resolves the P/Invoke targets of a method when it compiles that method, and keeps
    /// a failed resolution; so the public entry points (the CopilotClient constructor and
    /// LibraryVersion) call Ensure and leave their P/Invokes to methods that are never
    /// inlined, and every other P/Invoke is reached only through a client.</summary>
    internal static class NativeLoader
    {
        private const string FileName = "libcopilot.so";
        private static readonly object Gate = new object();
        private static bool _done;
        private static CopilotStatus _status;
        private static string _error;
        private static string _path;

        /// <summary>Loads libcopilot and checks its ABI version once; throws CopilotException
        /// (every time) when that failed.</summary>
        internal static void Ensure()
        {
            if (!Volatile.Read(ref _done))
            {
                lock (Gate)
                {
                    if (!_done)
                    {
                        Load();
                        Volatile.Write(ref _done, true);
                    }
                }
            }
            if (_error != null) throw new CopilotException(_status, _error);
        }

        private static void Load()
        {
            var candidates = Candidates();
            string found = null;
            foreach (var c in candidates)
            {
                if (File.Exists(c)) { found = c; break; }
            }
            if (found != null) Redirect(found);

            uint abi;
            try
            {
                abi = ProbeAbi();
            }
            catch (Exception e) when (e is DllNotFoundException || e is BadImageFormatException || e is EntryPointNotFoundException)
            {
                Fail(Describe(candidates, found, e));
                return;
            }
            if (abi != Native.AbiVersion)
            {
                Fail(string.Format("libcopilot ABI version {0} ({1}) does not match this wrapper's {2}: " +
                    "use the libcopilot.so of the same release as GitHub.Copilot.dll",
                    abi, found ?? "found by the system loader", Native.AbiVersion));
            }
        }

        // Its own method, never inlined: Mono resolves a method's P/Invoke targets when it
        // compiles the method, so Load itself must not call one before Redirect has run.
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static uint ProbeAbi() { return Native.copilot_abi_version(); }

        private static void Fail(string message)
        {
            _status = CopilotStatus.InvalidState;
            _error = message;
        }

        /// <summary>The runtime identifier of the package's native folder for this process.</summary>
        private static string Rid()
        {
            // RuntimeInformation is not in Mono's 4.5 profile that mcs compiles against, but
            // both Mono and .NET carry it at run time.
            try
            {
                var ri = Type.GetType("System.Runtime.InteropServices.RuntimeInformation, System.Runtime.InteropServices.RuntimeInformation");
                var arch = ri == null ? null : ri.GetProperty("ProcessArchitecture").GetValue(null, null);
                switch (arch == null ? "" : arch.ToString())
                {
                    case "Arm64": return "linux-arm64";
                    case "X86": return "linux-x86";
                    case "Arm": return "linux-arm";
                }
            }
            catch (Exception) { }
            return "linux-x64";
        }

        private static List<string> Candidates()
        {
            var list = new List<string>();
            var native = Path.Combine(Path.Combine("runtimes", Rid()), "native");
            foreach (var dir in AssemblyDirectories())
            {
                list.Add(Path.Combine(dir, FileName));
                list.Add(Path.Combine(Path.Combine(dir, native), FileName));
                var parent = Path.GetDirectoryName(Path.GetDirectoryName(dir));
                if (!string.IsNullOrEmpty(parent)) list.Add(Path.Combine(Path.Combine(parent, native), FileName));
            }
            return list;
        }

        /// <summary>The folder GitHub.Copilot.dll was loaded from, and the one it was copied
        /// from when the runtime shadow-copies assemblies (NUnit, ASP.NET).</summary>
        private static List<string> AssemblyDirectories()
        {
            var dirs = new List<string>();
            var assembly = typeof(NativeLoader).Assembly;
            try
            {
                if (!string.IsNullOrEmpty(assembly.Location)) dirs.Add(Path.GetDirectoryName(Path.GetFullPath(assembly.Location)));
            }
            catch (Exception) { }
            try
            {
#pragma warning disable 618 // CodeBase: obsolete on .NET 5+, where shadow copies do not exist
                var codeBase = assembly.CodeBase;
#pragma warning restore 618
                Uri uri;
                if (!string.IsNullOrEmpty(codeBase) && Uri.TryCreate(codeBase, UriKind.Absolute, out uri) && uri.IsFile)
                {
                    var dir = Path.GetDirectoryName(Path.GetFullPath(uri.LocalPath));
                    if (!dirs.Contains(dir)) dirs.Add(dir);
                }
            }
            catch (Exception) { }
            return dirs;
        }

        private static bool IsMono { get { return Type.GetType("Mono.Runtime") != null; } }

        [DllImport("__Internal")]
        private static extern void mono_dllmap_insert(IntPtr assembly, string dll, string func, string tdll, string tfunc);

        /// <summary>Makes [DllImport("copilot")] load path.</summary>
        private static void Redirect(string path)
        {
            _path = path;
            try
            {
                if (IsMono)
                {
                    // A global entry (no assembly): the same as <dllmap dll="copilot" target="path"/>.
                    mono_dllmap_insert(IntPtr.Zero, "copilot", null, path, null);
                    return;
                }
                var nativeLibrary = Type.GetType("System.Runtime.InteropServices.NativeLibrary");
                var resolverType = Type.GetType("System.Runtime.InteropServices.DllImportResolver");
                if (nativeLibrary == null || resolverType == null) return;
                var resolve = typeof(NativeLoader).GetMethod("Resolve", BindingFlags.NonPublic | BindingFlags.Static);
                var set = nativeLibrary.GetMethod("SetDllImportResolver", new[] { typeof(Assembly), resolverType });
                if (set != null) set.Invoke(null, new object[] { typeof(NativeLoader).Assembly, Delegate.CreateDelegate(resolverType, resolve) });
            }
            catch (Exception)
            {
                // Not Mono's launcher (an embedded runtime without exported mono_* symbols), or an
                // older .NET: the runtime's own search still finds a copy beside the assembly.
            }
        }

        /// <summary>The DllImportResolver of .NET Core 3+ (NativeLibrary.SetDllImportResolver).</summary>
        private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
        {
            if (libraryName != "copilot" || _path == null) return IntPtr.Zero;
            try
            {
                var load = Type.GetType("System.Runtime.InteropServices.NativeLibrary").GetMethod("Load", new[] { typeof(string) });
                return (IntPtr)load.Invoke(null, new object[] { _path });
            }
            catch (Exception)
            {
                return IntPtr.Zero; // the runtime's default search, then DllNotFoundException
            }
        }

        [DllImport("libdl.so.2")] private static extern IntPtr dlopen(string file, int mode);
        [DllImport("libdl.so.2")] private static extern IntPtr dlerror();
        [DllImport("libdl.so.2")] private static extern int dlclose(IntPtr handle);

        /// <summary>Why path does not load, in the system loader's words (dlerror), or null.</summary>
        private static string LoaderError(string path)
        {
            try
            {
                var h = dlopen(path, 2 /* RTLD_NOW */);
                if (h != IntPtr.Zero) { dlclose(h); return null; }
                return Marshal.PtrToStringAnsi(dlerror());
            }
            catch (Exception)
            {
                return null;
            }
        }

        private static string Describe(List<string> candidates, string found, Exception e)
        {
            var looked = candidates.Count == 0 ? "" : string.Join(", ", candidates.ToArray()) + ", then ";
            if (e is EntryPointNotFoundException)
            {
                return string.Format("the libcopilot.so that was loaded ({0}) lacks copilot_abi_version: it is not libcopilot, " +
                    "or an incompatible release. Looked in {1}the system loader's path.", found ?? "from the system loader's path", looked);
            }
            string reason = found == null ? null : LoaderError(found);
            var why = found == null
                ? "it was not found"
                : string.Format("{0} exists but does not load{1}", found, reason == null ? "" : " (" + reason + ")");
            return string.Format(
                "libcopilot, the native library of GitHub.Copilot, could not be loaded: {0}. " +
                "Looked for {1} in {2}the system loader's path (LD_LIBRARY_PATH, the ld.so cache, /lib, /usr/lib). " +
                "Install the GitHub.Copilot NuGet package, whose runtimes/linux-x64/native/libcopilot.so must end up " +
                "beside GitHub.Copilot.dll or in runtimes/linux-x64/native/ below its folder; or copy libcopilot.so " +
                "beside GitHub.Copilot.dll; or install libcopilot on the system (scripts/install.sh --prefix /usr/local, " +
                "then ldconfig). MONO_LOG_LEVEL=debug MONO_LOG_MASK=dll shows Mono's own search. ({3}: {4})",
                why, FileName, looked, e.GetType().Name, e.Message);
        }
    }
}
