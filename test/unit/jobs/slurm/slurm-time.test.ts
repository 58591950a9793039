/** Durations and sizes as Slurm prints them and as users write them. */
import {
  SlurmOutputError,
  SlurmValueError,
  formatDuration,
  formatMemory,
  parseMemory,
  parseRss,
  parseSlurmDuration,
  parseTimeOption,
} from "../../../../src/jobs/slurm/slurm-time";

describe("parseSlurmDuration reads what squeue, sacct and scontrol print", () => {
  test.each<[string, number | null]>([
    ["0:03", 3], // squeue %M, M:SS
    ["10:00", 600],
    ["1:27", 87],
    ["2:00:00", 7200], // H:MM:SS
    ["00:01:27", 87], // sacct Elapsed
    ["12:00:00", 43200],
    ["1-00:00:00", 86400], // scontrol MaxTime
    ["7-00:00:00", 604800],
    ["3-04:05:06", ((3 * 24 + 4) * 60 + 5) * 60 + 6],
    ["00:00:02.345", 2], // sacct CPU times carry milliseconds
    ["12:34.567", 754],
    [" 30:00 ", 1800],
    ["UNLIMITED", null],
    ["INVALID", null],
    ["N/A", null],
    ["Partition_Limit", null],
    ["NONE", null],
    ["", null],
  ])("%j → %j", (text, seconds) => {
    expect(parseSlurmDuration(text)).toBe(seconds);
  });

  test.each(["abc", "1-", "1-05:00", "1:2:3:4", "-1:00", "1h"])("%j is refused", (text) => {
    expect(() => parseSlurmDuration(text)).toThrow(SlurmOutputError);
    expect(() => parseSlurmDuration(text)).toThrow(`not a Slurm duration: ${JSON.stringify(text)}`);
  });
});

describe("formatDuration writes durations as users write them", () => {
  test.each<[number, string]>([
    [0, "0:00:00"],
    [6, "0:00:06"],
    [90, "0:01:30"],
    [3600, "1:00:00"],
    [3604, "1:00:04"],
    [43200, "12:00:00"],
    [86399, "23:59:59"],
    [86400, "1-00:00:00"],
    [604800 + 3661, "7-01:01:01"],
    [59.9, "0:00:59"],
    [-5, "0:00:00"],
  ])("%j → %j", (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  test.each(["0:03", "2:00:00", "1-00:00:00", "00:01:27"])(
    "round trips through parseSlurmDuration: %j",
    (text) => {
      expect(parseSlurmDuration(formatDuration(parseSlurmDuration(text)!))).toBe(parseSlurmDuration(text));
    },
  );
});

describe("parseTimeOption reads sbatch --time values", () => {
  test.each<[string, number | null]>([
    ["30", 1800], // minutes
    ["90", 5400],
    ["0:30", 30], // MM:SS
    ["90:00", 5400],
    ["1:00:00", 3600], // HH:MM:SS
    ["01:02:03", 3723],
    ["1-0", 86400], // D-HH
    ["2-12", 216000],
    ["1-2:3", 93780], // D-HH:MM
    ["1-00:00:00", 86400], // D-HH:MM:SS
    ["7-00:00:00", 604800],
    ["UNLIMITED", null],
    ["unlimited", null],
    ["infinite", null],
    ["0", null], // sbatch: no limit
  ])("%j → %j s", (text, seconds) => {
    expect(parseTimeOption(text)).toBe(seconds);
  });

  test.each([
    // sbatch would carry these over (1:70:00 is 2:10:00 to it): almost certainly typos
    "1:70:00",
    "1:00:60",
    "5:61",
    "1-24",
    "1-30:00",
    "1-00:60:00",
    // not times at all
    "1h",
    "1.5",
    "",
    "1:2:3:4",
    "-1",
    "1-",
    "tomorrow",
  ])("%j is refused, naming the forms that work", (text) => {
    expect(() => parseTimeOption(text)).toThrow(SlurmValueError);
    expect(() => parseTimeOption(text)).toThrow(
      `--time '${text}' is not a Slurm time: use MM, HH:MM:SS or D-HH:MM:SS`,
    );
  });

  test("the message names the option it was given as", () => {
    expect(() => parseTimeOption("1:70:00", "-t")).toThrow("-t '1:70:00' is not a Slurm time");
  });
});

describe("parseMemory reads --mem/--mem-per-cpu values in MB", () => {
  test.each<[string, number]>([
    ["4096", 4096], // no unit: megabytes
    ["500M", 500],
    ["500m", 500],
    ["8G", 8192],
    ["8g", 8192],
    ["8GB", 8192], // sbatch takes these too (checked on 22.05)
    ["8gb", 8192],
    ["1T", 1048576],
    ["1024K", 1],
    ["512K", 0.5],
    ["0", 0], // --mem=0: the whole node
  ])("%j → %j MB", (text, mb) => {
    expect(parseMemory(text)).toBe(mb);
  });

  test.each(["1.5G", "8 G", "G", "", "8X", "-1G", "8GiB", "lots"])("%j is refused", (text) => {
    expect(() => parseMemory(text)).toThrow(SlurmValueError);
    expect(() => parseMemory(text)).toThrow(
      `--mem '${text}' is not a memory size: use a whole number with K, M, G or T, e.g. 8G or 1536M`,
    );
  });

  test("the message names the option it was given as", () => {
    expect(() => parseMemory("3.8G", "--mem-per-cpu")).toThrow("--mem-per-cpu '3.8G' is not a memory size");
  });
});

describe("formatMemory", () => {
  test.each<[number, string]>([
    [8192, "8G"],
    [1536, "1.5G"],
    [412, "412M"],
    [1000, "1000M"],
    [4000, "4000M"], // not an approximate 3.9G
    [1024, "1G"],
    [16000, "15.6G"], // large: approximate is fine
    [1048576, "1T"],
    [1572864, "1.5T"],
    [410.12, "410M"],
    [0.5, "512K"],
    [0, "0M"],
  ])("%j MB → %j", (mb, text) => {
    expect(formatMemory(mb)).toBe(text);
  });
});

describe("parseRss reads sacct MaxRSS in bytes", () => {
  test.each<[string, number | null]>([
    ["2940K", 2940 * 1024],
    ["419960K", 419960 * 1024],
    ["133268K", 133268 * 1024],
    ["1.20G", Math.round(1.2 * 1024 ** 3)],
    ["512M", 512 * 1024 ** 2],
    ["0", 0],
    ["", null], // never sampled
    ["  ", null],
  ])("%j → %j", (text, bytes) => {
    expect(parseRss(text)).toBe(bytes);
  });

  test.each(["12X", "K", "1,2K"])("%j is refused", (text) => {
    expect(() => parseRss(text)).toThrow(SlurmOutputError);
  });
});
